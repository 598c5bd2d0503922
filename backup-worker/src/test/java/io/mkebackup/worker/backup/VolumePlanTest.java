package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The seed's rules for which volumes a backup holds, on the volume list of a whole manager. */
class VolumePlanTest {
  static VolumeInfo v(String name) {
    return new VolumeInfo("p-" + name, name, Path.of("/var/lib/docker/volumes/p-" + name + "/_data"));
  }

  static final List<VolumeInfo> MANAGER = Stream.of("ucp-auth-api-certs", "ucp-auth-store-certs",
      "ucp-auth-store-data", "ucp-auth-worker-certs", "ucp-backup", "ucp-client-root-ca", "ucp-cluster-root-ca",
      "ucp-controller-client-certs", "ucp-controller-server-certs", "ucp-kv", "ucp-kv-certs", "ucp-metrics-data",
      "ucp-node-certs").map(VolumePlanTest::v).toList();

  static List<String> names(List<VolumeInfo> vs) {
    return vs.stream().map(VolumeInfo::name).toList();
  }

  @Test
  void everyVolumeButTheExcludedAndKvWithTheAuthStoreLast() {
    VolumePlan plan = VolumePlan.of(MANAGER, BackupConfig.DEFAULT_EXCLUDED, v -> true, p -> 10);

    assertThat(names(plan.toCopy())).containsExactly("ucp-auth-api-certs", "ucp-auth-store-certs",
        "ucp-auth-worker-certs", "ucp-client-root-ca", "ucp-cluster-root-ca", "ucp-controller-client-certs",
        "ucp-controller-server-certs", "ucp-kv-certs", "ucp-auth-store-data");
    assertThat(plan.kv().map(VolumeInfo::name)).contains("ucp-kv");
    assertThat(plan.diskBytes()).isEqualTo(9 * 10);
    assertThat(plan.needHelper()).isFalse();
  }

  @Test
  void aVolumeNotReadFromDiskNeedsTheHelperAndCountsNoBytes() {
    VolumePlan plan = VolumePlan.of(MANAGER, BackupConfig.DEFAULT_EXCLUDED,
        v -> !v.name().equals("ucp-kv-certs"), p -> 10);
    assertThat(plan.needHelper()).isTrue();
    assertThat(plan.diskBytes()).isEqualTo(8 * 10);
  }

  @Test
  void anExcludedAuthStoreIsLeftOut() {
    VolumePlan plan = VolumePlan.of(MANAGER, Set.of("ucp-auth-store-data"), v -> true, p -> 0);
    assertThat(plan.authStore()).isEqualTo(Optional.empty());
    assertThat(names(plan.toCopy())).doesNotContain("ucp-auth-store-data", "ucp-kv")
        .contains("ucp-metrics-data", "ucp-node-certs", "ucp-backup");
  }
}
