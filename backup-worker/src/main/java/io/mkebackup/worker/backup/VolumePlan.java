package io.mkebackup.worker.backup;

import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Which of the engine's ucp-* volumes a backup copies, in which order and how: every one but the
 * excluded, ucp-kv (taken as an etcd snapshot instead) and the auth store, which goes last; the
 * bytes the disk source will read, and whether any volume needs the helper container.
 *
 * @param plain the volumes copied first, by name
 * @param kv ucp-kv, when the engine has it
 * @param authStore the auth store, when the engine has it and it is not excluded
 * @param diskBytes the bytes of the volumes read from disk
 * @param needHelper whether a volume must be read through the helper container
 */
record VolumePlan(List<VolumeInfo> plain, Optional<VolumeInfo> kv, Optional<VolumeInfo> authStore, long diskBytes,
    boolean needHelper) {

  /**
   * @param volumes the engine's ucp-* volumes, sorted by name
   * @param useDisk whether a volume is read from its mountpoint (else through the helper)
   * @param sizeOnDisk the bytes under a mountpoint
   */
  static VolumePlan of(List<VolumeInfo> volumes, Set<String> excluded, Predicate<VolumeInfo> useDisk,
      ToLongFunction<Path> sizeOnDisk) {
    Optional<VolumeInfo> kv = find(volumes, ArchiveLayout.ETCD_VOLUME);
    Optional<VolumeInfo> authStore = find(volumes, ArchiveLayout.AUTH_STORE_VOLUME)
        .filter(v -> !excluded.contains(v.name()));
    List<VolumeInfo> plain = volumes.stream()
        .filter(v -> !excluded.contains(v.name()))
        .filter(v -> !v.name().equals(ArchiveLayout.ETCD_VOLUME) && !v.name().equals(ArchiveLayout.AUTH_STORE_VOLUME))
        .toList();
    long diskBytes = 0;
    boolean needHelper = false;
    for (VolumeInfo v : copied(plain, authStore)) {
      if (useDisk.test(v)) {
        diskBytes += sizeOnDisk.applyAsLong(v.mountpoint());
      } else {
        needHelper = true;
      }
    }
    return new VolumePlan(plain, kv, authStore, diskBytes, needHelper);
  }

  /** Every volume copied, in the order it goes into the archive. */
  List<VolumeInfo> toCopy() {
    return copied(plain, authStore);
  }

  private static List<VolumeInfo> copied(List<VolumeInfo> plain, Optional<VolumeInfo> authStore) {
    List<VolumeInfo> all = new ArrayList<>(plain);
    authStore.ifPresent(all::add);
    return all;
  }

  private static Optional<VolumeInfo> find(List<VolumeInfo> volumes, String name) {
    return volumes.stream().filter(v -> v.name().equals(name)).findFirst();
  }
}
