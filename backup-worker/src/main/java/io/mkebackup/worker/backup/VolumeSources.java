package io.mkebackup.worker.backup;

import io.mkebackup.worker.freeze.Freezer;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerArchiveVolumeSource;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.VolumeSource;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Where each volume of a run is read from: its mountpoint, or the helper container (created here
 * when the plan needs it, never started) through the engine's archive API.
 */
final class VolumeSources {
  private final VolumeSource disk;
  private final VolumeSource helper;
  private final BackupPlan plan;

  private VolumeSources(VolumeSource disk, VolumeSource helper, BackupPlan plan) {
    this.disk = disk;
    this.helper = helper;
    this.plan = plan;
  }

  /**
   * @param freezer null when volumes are copied without pausing their writers
   * @param warnings where both sources say what they met (files that changed while read)
   */
  static VolumeSources open(BackupPlan plan, Freezer freezer, BackupConfig config, String runId,
      Consumer<String> warnings, RunResources opened) {
    VolumeSource disk = new DiskVolumeSource(warnings);
    if (!plan.volumes().needHelper()) {
      return new VolumeSources(disk, null, plan);
    }
    // The first volumes read through the helper come in one response of the engine's; the
    // auth store, copied after etcd, in one of its own.
    // A volume a container writes is asked for apart, once its writers are paused: dockerd
    // reads a shared response ahead of the backup, before the pause.
    ContainerEngine engine = plan.docker();
    List<VolumeInfo> toCopy = plan.volumes().toCopy();
    List<VolumeInfo> together = plan.volumes().plain().stream().filter(plan.fromDisk().negate())
        .filter(v -> freezer == null || engine.mounters(v.fullName()).stream().noneMatch(Mounter::readWrite))
        .toList();
    Map<String, String> labels = Map.of(DockerEngine.HELPER_LABEL, runId);
    opened.helperId = engine.createHelper(config.helperImage(),
        config.volumePrefix() + "mke-backup-helper-" + runId,
        toCopy.stream().map(VolumeInfo::fullName).toList(),
        toCopy.stream().filter(v -> !together.contains(v)).map(VolumeInfo::fullName).collect(Collectors.toSet()),
        labels);
    opened.helperSource = new DockerArchiveVolumeSource(engine, opened.helperId, together, config.helperImage(),
        labels, warnings);
    return new VolumeSources(disk, opened.helperSource, plan);
  }

  VolumeSource of(VolumeInfo v) {
    return plan.fromDisk().test(v) ? disk : helper;
  }
}
