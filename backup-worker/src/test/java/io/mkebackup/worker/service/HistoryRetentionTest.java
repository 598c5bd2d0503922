package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.HazelcastBackupCatalog;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.record.BackupRecord;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catalog's own retention on a real Hazelcast member and a real backup directory: records too
 * old or beyond the newest N go with their contents, unless their archive is still there (or the
 * policy says so); running backups always stay.
 */
@Tag("integration")
class HistoryRetentionTest {
  @TempDir
  Path backups;
  HazelcastInstance member;

  @AfterEach
  void stop() {
    if (member != null) {
      member.shutdown();
    }
  }

  BackupCatalog catalog() {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("history-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), "node").memberConfig(io.mkebackup.common.cluster.ClusterTrust.derive(
        io.mkebackup.common.cluster.ClusterSecret.of(java.util.UUID.randomUUID().toString().getBytes(), "test"))));
    return new HazelcastBackupCatalog(member, null);
  }

  /** A record created {@code daysAgo} days ago, ended as given. */
  BackupRecord record(String file, long daysAgo, boolean success) {
    BackupRecord r = new BackupRecord(UUID.randomUUID().toString(), false, file, "", backups.toString(),
        io.mkebackup.common.record.BackupState.IN_PROGRESS, "node", "", Instant.now().minus(Duration.ofDays(daysAgo)),
        null, "m", 0, 0, 0, "api", 0, null);
    return success ? r.succeeded(1, 1, 1) : r.failed("x");
  }

  @Test
  void oldAndSurplusRecordsGoWithTheirContentsButNotWhileTheirArchiveExists() throws IOException {
    BackupCatalog catalog = catalog();
    BackupRecord oldGone = record("old-gone.tar", 100, true);
    BackupRecord oldKept = record("old-kept.tar", 100, true);
    BackupRecord oldFailed = record("old-failed.tar", 95, false);
    BackupRecord recent1 = record("r1.tar", 3, true);
    BackupRecord recent2 = record("r2.tar", 2, false);
    BackupRecord recent3 = record("r3.tar", 1, true);
    BackupRecord running = new BackupRecord(UUID.randomUUID().toString(), false, "run.tar", "", backups.toString(),
        io.mkebackup.common.record.BackupState.IN_PROGRESS, "node", "", Instant.now().minus(Duration.ofDays(200)), null,
        "m", 0, 0, 0, "api", 0, null);
    for (BackupRecord r : List.of(oldGone, oldKept, oldFailed, recent1, recent2, recent3, running)) {
      catalog.put(r);
      catalog.putContents(r.id(), new JsonObject().put("entries", List.of()));
    }
    Files.writeString(backups.resolve("old-kept.tar"), "an archive still on disk");

    HistoryRetention retention = new HistoryRetention(catalog, new HistoryRetention.Policy(Duration.ofDays(90), 2,
        false), () -> true);
    List<BackupRecord> removed = retention.prune(Instant.now());

    // Newest first: r3, r2, then r1 beyond the newest 2, then the old ones; the running one stays.
    assertThat(removed).extracting(BackupRecord::id).containsExactlyInAnyOrder(recent1.id(), oldGone.id(), oldFailed.id());
    assertThat(catalog.list()).extracting(BackupRecord::id)
        .containsExactlyInAnyOrder(running.id(), recent3.id(), recent2.id(), oldKept.id());
    for (BackupRecord r : removed) {
      assertThat(catalog.contents(r.id())).isEmpty();
    }
    assertThat(catalog.contents(oldKept.id())).isPresent();

    // Asked to, it drops records whose archive exists too.
    new HistoryRetention(catalog, new HistoryRetention.Policy(Duration.ofDays(90), 2, true), () -> true)
        .prune(Instant.now());
    assertThat(catalog.list()).extracting(BackupRecord::id).doesNotContain(oldKept.id());
    assertThat(member.getMap(ClusterSettings.CONTENTS_MAP).containsKey(oldKept.id())).isFalse();
  }
}
