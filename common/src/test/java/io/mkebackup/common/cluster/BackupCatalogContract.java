package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every {@link BackupCatalog} promises the backup runs, the scheduler, the chores and the
 * API, run on each implementation ({@link InMemoryBackupCatalogTest},
 * {@link HazelcastBackupCatalogContractIT}), so the in-memory catalog the logic is unit-tested
 * on keeps the cluster's contract.
 */
abstract class BackupCatalogContract {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @TempDir
  Path share;

  /** An empty catalog. */
  abstract BackupCatalog catalog();

  /** Stores a value as it is, bypassing {@link BackupCatalog#put} (what another version or a bad mirror left). */
  abstract void plant(String id, String stored);

  static BackupRecord record(String id, BackupState state, Instant createdAt, String backupPath, String owner) {
    return new BackupRecord(id, false, "a.tar", "", backupPath, state, "node-1", state == BackupState.FAILED ? "x" : "",
        createdAt, state == BackupState.IN_PROGRESS ? null : createdAt.plusSeconds(5), owner, 0, 0, 0, "api", 0, null);
  }

  static String id() {
    return UUID.randomUUID().toString();
  }

  @Test
  void listIsNewestFirstThenByIdAndSkipsAndCountsWhatCannotBeRead() {
    BackupCatalog catalog = catalog();
    String a = "00000000-0000-0000-0000-00000000000a";
    String b = "00000000-0000-0000-0000-00000000000b";
    catalog.put(record(b, BackupState.SUCCESS, T0, "", "m"));
    catalog.put(record(a, BackupState.SUCCESS, T0, "", "m"));
    String newest = id();
    catalog.put(record(newest, BackupState.FAILED, T0.plusSeconds(1), "", "m"));
    String oldest = id();
    catalog.put(record(oldest, BackupState.IN_PROGRESS, T0.minusSeconds(1), "", "m"));
    String bad = id();
    plant(bad, "not json");
    String otherId = id();
    plant(otherId, record(id(), BackupState.SUCCESS, T0, "", "m").toStoredJson().encode());

    assertThat(catalog.list()).extracting(BackupRecord::id).containsExactly(newest, a, b, oldest);
    assertThat(catalog.unreadable()).isEqualTo(2);
    assertThat(catalog.get(bad)).isEmpty();
    assertThat(catalog.get(otherId)).as("a value naming another id").isEmpty();
  }

  @Test
  void replaceChangesOnlyTheRecordItWasGivenSoAFailedRecordNeverBecomesSuccess() throws Exception {
    BackupCatalog catalog = catalog();
    BackupRecord mine = record(id(), BackupState.IN_PROGRESS, T0, "", "m");
    catalog.put(mine);
    BackupRecord failed = mine.failed("node left the cluster");
    assertThat(catalog.replace(mine, failed)).isTrue();
    assertThat(catalog.replace(mine, mine.succeeded(1, 1, 1))).isFalse();
    // Stored times are whole milliseconds: compare the stored forms.
    assertThat(catalog.get(mine.id()).map(BackupRecord::toStoredJson)).contains(failed.toStoredJson());
    assertThat(catalog.getAsync(mine.id()).toCompletableFuture().get().map(BackupRecord::toStoredJson))
        .contains(failed.toStoredJson());
    assertThat(catalog.replace(record(id(), BackupState.IN_PROGRESS, T0, "", "m"), failed))
        .as("no record to replace").isFalse();
  }

  @Test
  void removeTakesTheContentsWithTheRecord() {
    BackupCatalog catalog = catalog();
    String gone = id();
    String kept = id();
    JsonObject listing = new JsonObject().put("entries", new JsonArray().add("x")).put("truncated", false);
    for (String id : List.of(gone, kept)) {
      catalog.put(record(id, BackupState.SUCCESS, T0, "", "m"));
      catalog.putContents(id, listing);
    }
    catalog.remove(gone);
    assertThat(catalog.get(gone)).isEmpty();
    assertThat(catalog.contents(gone)).isEmpty();
    assertThat(catalog.contents(kept)).contains(listing);
    catalog.removeContents(kept);
    assertThat(catalog.contents(kept)).isEmpty();
    assertThat(catalog.get(kept)).isPresent();
  }

  /** Which records a pass marks FAILED: only IN_PROGRESS ones whose owner is not alive. */
  static Stream<Arguments> orphans() {
    return Stream.of(
        Arguments.of(BackupState.IN_PROGRESS, "dead", true),
        Arguments.of(BackupState.IN_PROGRESS, "alive", false),
        Arguments.of(BackupState.SUCCESS, "dead", false),
        Arguments.of(BackupState.FAILED, "dead", false));
  }

  @ParameterizedTest(name = "{0} owned by a {1} member: marked FAILED {2}")
  @MethodSource("orphans")
  void failOrphansMarksOnlyRunningBackupsOfOwnersThatAreGone(BackupState state, String owner, boolean failed)
      throws Exception {
    BackupCatalog catalog = catalog();
    BackupRecord r = record(id(), state, T0, share.toString(), owner);
    catalog.put(r);
    Path part = Files.createFile(share.resolve(".a.tar." + r.id() + ".part"));
    Path otherPart = Files.createFile(share.resolve(".b.tar." + id() + ".part"));

    List<BackupRecord> changed = catalog.failOrphans(x -> x.ownerMember().equals("alive"), x -> "gone: " + x.id());

    BackupRecord now = catalog.get(r.id()).orElseThrow();
    if (failed) {
      assertThat(changed).extracting(BackupRecord::toStoredJson).containsExactly(now.toStoredJson());
      assertThat(now.state()).isEqualTo(BackupState.FAILED);
      assertThat(now.shortError()).isEqualTo("gone: " + r.id());
      assertThat(part).doesNotExist();
      assertThat(catalog.failOrphans(x -> false, x -> "again")).as("a second pass finds it done").isEmpty();
    } else {
      assertThat(changed).isEmpty();
      assertThat(now).isEqualTo(r);
      assertThat(part).exists();
    }
    assertThat(otherPart).as("another backup's temporary file").exists();
  }
}
