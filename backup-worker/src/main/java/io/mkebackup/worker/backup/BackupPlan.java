package io.mkebackup.worker.backup;

import io.etcd.jetcd.api.StatusResponse;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdSource;
import java.util.List;
import java.util.function.Predicate;

/**
 * What validation found and decided, before anything is written: the engine and its version, the
 * volumes to copy and how each is read, etcd and its status (when configured), the estimate and
 * where the archive goes, and the warnings so far.
 *
 * @param fromDisk whether a volume is read from its mountpoint (else through the helper); decided
 *     once per volume, so that the helper's mounts and the copy agree
 * @param etcd null when no etcd endpoint is configured
 * @param targetText the target as the validation line names it, with its free space
 */
record BackupPlan(ContainerEngine docker, String dockerVersion, VolumePlan volumes, Predicate<VolumeInfo> fromDisk,
    EtcdSource etcd, StatusResponse etcdStatus, long estimate, String targetText, List<String> warnings) {

  /** The validation step's closing line. */
  String summary(boolean encrypted) {
    return "ok: Docker " + dockerVersion + " at " + docker.host()
        + (etcdStatus == null ? "" : ", etcd " + etcdStatus.getVersion() + " at " + etcd.url())
        + ", " + volumes.toCopy().size() + " volumes, about " + ProgressFormat.bytes(estimate) + " to write to "
        + targetText + (encrypted ? ", encrypted (AES-256)" : ", NOT encrypted");
  }
}
