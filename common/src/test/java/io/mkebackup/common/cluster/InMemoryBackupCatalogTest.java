package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The {@link BackupCatalog} contract on {@link InMemoryBackupCatalog}: a unit test, no cluster. */
class InMemoryBackupCatalogTest extends BackupCatalogContract {
  private final InMemoryBackupCatalog catalog = new InMemoryBackupCatalog();

  @Override
  BackupCatalog catalog() {
    return catalog;
  }

  @Override
  void plant(String id, String stored) {
    catalog.putStored(id, stored);
  }

  /** Its view follows each change before the change returns (the cluster's trails by its events). */
  @Test
  void aViewFollowsEveryChangeAtOnce() {
    String before = UUID.randomUUID().toString();
    catalog.put(record(before, BackupState.SUCCESS, T0, "", "m"));
    String bad = UUID.randomUUID().toString();
    catalog.putStored(bad, "not json");
    CatalogView view = catalog.startView();
    assertThat(states(view)).isEqualTo(Map.of(before, BackupState.SUCCESS));
    assertThat(catalog.unreadable()).isEqualTo(1);

    BackupRecord after = record(UUID.randomUUID().toString(), BackupState.IN_PROGRESS, T0.plusSeconds(1), "", "m");
    catalog.put(after);
    assertThat(catalog.replace(after, after.failed("x"))).isTrue();
    catalog.remove(before);
    catalog.remove(bad);
    assertThat(states(view)).isEqualTo(Map.of(after.id(), BackupState.FAILED));
    assertThat(catalog.view()).isSameAs(view);
    assertThat(catalog.unreadable()).isZero();
  }

  static Map<String, BackupState> states(CatalogView view) {
    return view.records().stream().collect(Collectors.toMap(BackupRecord::id, BackupRecord::state));
  }
}
