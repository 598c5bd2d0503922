package io.mkebackup.worker.backup;

import io.etcd.jetcd.api.StatusResponse;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Threads;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.io.Storage;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdEndpoint;
import io.mkebackup.worker.source.EtcdSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The validation step: checks the target, connects the container engine and etcd, lists the
 * volumes, estimates the archive and checks the target's free space for it; the result is the
 * run's {@link BackupPlan}. What it opens it hands to the run's {@link RunResources} at once, so a
 * refusal half-way still closes it.
 */
final class Validation {
  /** Encryption adds a few bytes per MiB; tar adds a header per file. Leave room for both. */
  static final double SPACE_MARGIN = 1.05;
  /** Beyond etcd's own time-out: finding ucp-kv through the Docker engine. */
  static final java.time.Duration FIND_ETCD_WITHIN = java.time.Duration.ofSeconds(15);

  private final BackupConfig config;
  private final Function<String, ContainerEngine> engines;
  private final Function<BackupConfig, EtcdSource> etcdSources;

  Validation(BackupConfig config, Function<String, ContainerEngine> engines,
      Function<BackupConfig, EtcdSource> etcdSources) {
    this.config = config;
    this.engines = engines;
    this.etcdSources = etcdSources;
  }

  /** A connected etcd source and the status it answered with. */
  record EtcdReady(EtcdSource source, StatusResponse status) {}

  BackupPlan plan(BackupRequest request, RunResources opened, Progress p) {
    p.started(Step.VALIDATION, "", "checking the target, the Docker engine and etcd");
    Path targetDir = request.file() == null ? null : request.file().toAbsolutePath().getParent();
    if (targetDir != null) {
      Storage.checkWritableDirectory(targetDir, request.targetField());
    }
    opened.etcdReady = config.etcd() == null ? null : connectEtcd(request.id());
    ContainerEngine docker = engines.apply(config.dockerHost());
    opened.docker = docker;
    String dockerVersion = docker.version();
    List<VolumeInfo> volumes = docker.ucpVolumes(config.volumePrefix());
    if (volumes.isEmpty()) {
      throw new BackupException(ErrorCode.NO_MKE_STATE, "no " + config.volumePrefix()
          + "ucp-* volumes on the Docker engine at " + docker.host() + "; is this an MKE manager?");
    }
    List<String> warnings = new ArrayList<>();
    StatusResponse etcdStatus = null;
    if (opened.etcdReady != null) {
      EtcdReady ready = join(opened.etcdReady, config.etcd());
      opened.etcd = ready.source();
      etcdStatus = ready.status();
    } else if (volumes.stream().anyMatch(v -> v.name().equals(ArchiveLayout.ETCD_VOLUME))) {
      warnings.add("no etcd endpoint is configured, so ucp-kv (the Kubernetes and MKE key-value store) is NOT in this backup");
    }
    // Decided once per volume: the helper mounts and the copy must agree.
    Map<String, Boolean> diskChoices = new HashMap<>();
    Predicate<VolumeInfo> fromDisk = v -> diskChoices.computeIfAbsent(v.fullName(), n -> useDisk(v));
    VolumePlan plan = VolumePlan.of(volumes, config.excludedVolumes(), fromDisk, BackupProcedure::sizeOnDisk);
    long estimate = (etcdStatus == null ? 0 : etcdStatus.getDbSize()) + plan.diskBytes();
    p.estimate(estimate);
    String targetText = targetDir == null ? "standard output" : checkSpace(request, targetDir, estimate);
    return new BackupPlan(docker, dockerVersion, plan, fromDisk, opened.etcd, etcdStatus, estimate, targetText,
        warnings);
  }

  /**
   * etcd is asked on another thread while the Docker engine answers: both are round trips. A
   * thread of its own, not the common pool, which other work (and waits) share. With etcdEndpoint
   * auto, finding ucp-kv (its container, address and certificates) is part of it.
   */
  private CompletableFuture<EtcdReady> connectEtcd(String runId) {
    return CompletableFuture.supplyAsync(() -> {
      EtcdSource source = etcdSources.apply(config);
      try {
        return new EtcdReady(source, source.status());
      } catch (RuntimeException e) {
        source.close();
        throw e;
      }
    }, Threads.each("mke-backup-etcd-" + runId));
  }

  /** The target's free space against the estimate; the target as the validation line names it. */
  private static String checkSpace(BackupRequest request, Path targetDir, long estimate) {
    long free = Storage.freeBytes(targetDir);
    if (free < estimate * SPACE_MARGIN) {
      throw new BackupException(ErrorCode.TARGET_FULL, request.targetField(), request.targetField() + ": "
          + targetDir + " has " + ProgressFormat.bytes(free) + " free but the backup needs about "
          + ProgressFormat.bytes((long) (estimate * SPACE_MARGIN)) + "; free space or pick another directory", null);
    }
    return request.file() + " (" + ProgressFormat.bytes(free) + " free)";
  }

  /**
   * The connection, waited for no longer than etcd's own time-out and a margin for finding it
   * through the Docker engine ({@code auto}: a few engine calls, slow on a loaded manager).
   */
  private static EtcdReady join(CompletableFuture<EtcdReady> f, EtcdEndpoint etcd) {
    long wait = (etcd.timeout() == null ? EtcdEndpoint.DEFAULT_TIMEOUT : etcd.timeout()).toMillis()
        + FIND_ETCD_WITHIN.toMillis();
    try {
      return f.get(wait, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new CompletionException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd at " + etcd.url() + " did not answer within "
          + wait / 1000 + " s; check that it runs and that this manager reaches it", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackupException(ErrorCode.INTERNAL, "the backup was interrupted", e);
    }
  }

  private boolean useDisk(VolumeInfo v) {
    return switch (config.sourceMode()) {
      case DISK -> true;
      case DOCKER -> false;
      case AUTO -> DiskVolumeSource.canRead(v);
    };
  }
}
