package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The catalog's local sorted copy on a real Hazelcast member: it follows the map, pages newest
 * first with cursors that continue exactly where the last page ended, filters, and leaves out a
 * value it cannot read instead of failing the list.
 */
@Tag("integration")
class CatalogViewIT {
  HazelcastInstance member;
  HazelcastBackupCatalog catalog;
  final List<BackupRecord> all = new ArrayList<>();

  @BeforeEach
  void start() {
    int port = freePort();
    member = Hazelcast.newHazelcastInstance(new ClusterSettings("view-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), "view-node").memberConfig(
        ClusterTrust.derive(ClusterSecret.of(UUID.randomUUID().toString().getBytes(), "test"))));
    catalog = new HazelcastBackupCatalog(member, null);
    Instant t0 = Instant.parse("2026-11-01T00:00:00Z");
    for (int i = 0; i < 120; i++) {
      // Every third pair shares a creation time, so the order must fall back to the id.
      BackupRecord r = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "b" + i + ".tar", "", "/backups",
          "node-" + (i % 3), "owner", "api");
      r = new BackupRecord(r.id(), true, r.fileName(), "", r.backupPath(), i % 4 == 0 ? BackupState.FAILED
          : BackupState.SUCCESS, r.nodeLocation(), i % 4 == 0 ? "broke" : "", t0.plusSeconds(i / 2 * 60),
          t0.plusSeconds(i / 2 * 60 + 30), "owner", 10, 1, 10, "api", 0, null);
      all.add(r);
      if (i < 60) {
        catalog.put(r); // half before the view starts (loaded), half after (followed)
      }
    }
    catalog.startView();
    all.subList(60, 120).forEach(catalog::put);
    all.sort(Comparator.comparing(BackupRecord::createdAt).reversed().thenComparing(BackupRecord::id));
    await().atMost(Duration.ofSeconds(10)).until(() -> catalog.view().size() == 120);
  }

  @AfterEach
  void stop() {
    member.shutdown();
  }

  @Test
  void pagesWalkEveryRecordNewestFirstOnce() {
    List<String> walked = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      CatalogView.Page p = catalog.view().page(CatalogView.Query.parse("50", cursor, null, null));
      p.entries().forEach(e -> walked.add(e.record().id()));
      cursor = p.next();
      pages++;
    } while (cursor != null);
    assertThat(pages).isEqualTo(3);
    assertThat(walked).containsExactlyElementsOf(all.stream().map(BackupRecord::id).toList());
    assertThat(catalog.view().page(CatalogView.Query.ALL).entries()).hasSize(120);
    assertThat(new JsonObject(catalog.view().page(CatalogView.Query.parse("1", null, null, null)).entries().get(0)
        .apiJson())).isEqualTo(all.get(0).toApiJson());
  }

  @Test
  void filtersKeepOnlyTheStateAndNodeAsked() {
    CatalogView.Page p = catalog.view().page(CatalogView.Query.parse("1000", null, "failed", "node-0"));
    List<String> expected = all.stream().filter(r -> r.state() == BackupState.FAILED && r.nodeLocation().equals("node-0"))
        .map(BackupRecord::id).toList();
    assertThat(expected).isNotEmpty();
    assertThat(p.entries()).extracting(e -> e.record().id()).containsExactlyElementsOf(expected);
    assertThat(p.next()).isNull();
  }

  @Test
  void changesAndUnreadableValuesAreFollowed() {
    BackupRecord newest = all.get(0);
    catalog.put(newest.failed("changed"));
    await().atMost(Duration.ofSeconds(10)).until(() ->
        catalog.view().page(CatalogView.Query.parse("1", null, null, null)).entries().get(0).record().state()
            == BackupState.FAILED);
    // Sealed but unreadable, and not sealed at all: both are left out.
    SealedMap.of(member, ClusterSettings.CATALOG_MAP).set(all.get(1).id(), "{not json");
    member.<String, String>getMap(ClusterSettings.CATALOG_MAP).set(UUID.randomUUID().toString(), "{\"id\":null}");
    await().atMost(Duration.ofSeconds(10)).until(() -> catalog.view().size() == 119);
    assertThat(catalog.view().records()).extracting(BackupRecord::id).doesNotContain(all.get(1).id());
  }

  @Test
  void badParametersNameTheirField() {
    for (String[] bad : new String[][] {{"0", null, null, null, "limit"}, {"1001", null, null, null, "limit"},
        {"ten", null, null, null, "limit"}, {null, "bm90LWEtY3Vyc29y", null, null, "cursor"},
        {null, "%%%", null, null, "cursor"}, {null, null, "DONE", null, "state"}, {null, null, null, "", "node"}}) {
      assertThatThrownBy(() -> CatalogView.Query.parse(bad[0], bad[1], bad[2], bad[3]))
          .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.field()).isEqualTo(bad[4]));
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * What a listener cannot see (the entries a member receives when it merges back after a split)
   * a reload puts right: here a copy that follows nothing is brought up to date by reloads alone.
   */
  @Test
  void aReloadMakesTheCopyWhatTheMapHolds() {
    CatalogView detached = new CatalogView(catalog::parse, r -> r.toDetailsJson().encode());
    SealedMap map = SealedMap.of(member, ClusterSettings.CATALOG_MAP);
    detached.resync(map);
    assertThat(detached.records()).containsExactlyElementsOf(all);

    BackupRecord gone = all.get(7);
    BackupRecord changed = all.get(3);
    BackupRecord failed = new BackupRecord(changed.id(), true, changed.fileName(), "", changed.backupPath(),
        BackupState.FAILED, changed.nodeLocation(), "merged from the other side", changed.createdAt(),
        changed.completedAt(), "owner", 10, 1, 10, "api", 0, null);
    catalog.remove(gone.id());
    catalog.put(failed);
    BackupRecord added = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "new.tar", "", "/backups",
        "node-9", "owner", "api");
    catalog.put(added);
    assertThat(detached.records()).as("nothing followed").containsExactlyElementsOf(all);

    detached.resync(map);
    assertThat(detached.records()).extracting(BackupRecord::id).doesNotContain(gone.id()).contains(added.id())
        .hasSize(all.size());
    assertThat(detached.records()).filteredOn(r -> r.id().equals(changed.id())).singleElement()
        .satisfies(r -> assertThat(r.shortError()).isEqualTo("merged from the other side"));
    assertThat(detached.records().get(0).id()).isEqualTo(added.id());
  }
}
