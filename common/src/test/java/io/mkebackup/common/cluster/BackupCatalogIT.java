package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catalog on a real Hazelcast member: entries that cannot be read are skipped and counted,
 * corrupt mirror files are not loaded, and a backup's end is a compare-and-set from its own
 * IN_PROGRESS record, so a FAILED written by another member never turns into SUCCESS.
 */
@Tag("integration")
class BackupCatalogIT {
  @TempDir
  Path dir;
  HazelcastInstance member;

  @AfterEach
  void stop() {
    if (member != null) {
      member.shutdown();
    }
  }

  HazelcastBackupCatalog catalog() {
    int port = BackupLockIT.freePort();
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("catalog-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), "node").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
    return new HazelcastBackupCatalog(member, dir);
  }

  static BackupRecord running(String id) {
    return BackupRecord.inProgress(id, false, "a.tar", "", "/backups", "node", "member-1", "api");
  }

  @Test
  void unreadableEntriesAreSkippedAndCountedNeverFailingTheList() throws Exception {
    String good = UUID.randomUUID().toString();
    String corruptFile = UUID.randomUUID().toString();
    Files.writeString(dir.resolve(good + ".json"), running(good).failed("x").toStoredJson().encode());
    Files.writeString(dir.resolve(corruptFile + ".json"), "{\"id\": \"" + corruptFile + "\", \"backupState\": null}");
    HazelcastBackupCatalog catalog = catalog();
    assertThat(catalog.startMirroring()).isEqualTo(1);
    String planted = UUID.randomUUID().toString();
    // Sealed as a manager would, yet not a record (a forged, unsealed value is ignored before this).
    SealedMap.of(member, ClusterSettings.CATALOG_MAP).set(planted, "not json");

    assertThat(catalog.list()).extracting(BackupRecord::id).containsExactly(good);
    assertThat(catalog.get(planted)).isEmpty();
    assertThat(catalog.unreadable()).isEqualTo(2);
    assertThat(member.getMap(ClusterSettings.CATALOG_MAP).containsKey(corruptFile)).as("never loaded").isFalse();
  }

  @Test
  void aFailedRecordNeverBecomesSuccess() throws Exception {
    HazelcastBackupCatalog catalog = catalog();
    String id = UUID.randomUUID().toString();
    BackupRecord mine = running(id);
    catalog.put(mine);
    // Another member declared the owner dead.
    assertThat(catalog.replace(mine, mine.failed("node left the cluster"))).isTrue();
    // The owner wakes up and tries to record its success.
    assertThat(catalog.replace(mine, mine.succeeded(1, 1, 1))).isFalse();
    assertThat(catalog.get(id)).hasValueSatisfying(r -> {
      assertThat(r.state()).isEqualTo(BackupState.FAILED);
      assertThat(r.shortError()).contains("left the cluster");
    });
  }

  /**
   * A removed backup is gone from the removing member's disk when the removal returns, its listing
   * too: a member stopped right after does not bring either back at the next whole-cluster start.
   */
  @Test
  void aRemovedBackupAndItsListingAreOffThisMembersDiskWhenRemoveReturns() throws Exception {
    HazelcastBackupCatalog catalog = catalog();
    catalog.startMirroring();
    String id = UUID.randomUUID().toString();
    catalog.put(running(id).failed("x"));
    catalog.putContents(id, new io.vertx.core.json.JsonObject().put("entries", new io.vertx.core.json.JsonArray()));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() ->
        Files.exists(dir.resolve(id + ".json")) && Files.exists(dir.resolve(id + ".contents.json")));
    catalog.remove(id);
    assertThat(dir.resolve(id + MapMirror.TOMBSTONE)).exists();
    assertThat(dir.resolve(id + ".json")).doesNotExist();
    assertThat(dir.resolve(id + ".contents.json")).doesNotExist();
  }
}
