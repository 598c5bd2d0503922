package io.mkebackup.worker.backup;

import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.DockerArchiveVolumeSource;
import io.mkebackup.worker.source.EtcdSource;
import java.util.concurrent.CompletableFuture;

/**
 * What one backup run opened, filled in by its steps as they open it and closed once at the end
 * of the run whatever happened: the log, the spool, the helper container and its response, etcd
 * and the container engine, in that order.
 */
final class RunResources {
  RunLog log;
  SpoolDirectory spool;
  ContainerEngine docker;
  /** etcd being connected on a thread of its own, until validation waits for it. */
  CompletableFuture<Validation.EtcdReady> etcdReady;
  EtcdSource etcd;
  String helperId;
  DockerArchiveVolumeSource helperSource;

  void close() {
    if (log != null) {
      log.close();
    }
    if (spool != null) {
      spool.close();
    }
    if (helperSource != null) {
      helperSource.close(); // dockerd holds the helper until its response ends
    }
    if (helperId != null) {
      try {
        docker.removeContainer(helperId);
      } catch (RuntimeException ignored) {
        // a leftover helper is labelled and harmless (never started)
      }
    }
    if (etcd != null) {
      etcd.close();
    } else if (etcdReady != null) {
      // Validation failed before etcd was needed: close it whenever it answers.
      etcdReady.thenAccept(ready -> ready.source().close());
    }
    if (docker != null) {
      docker.close();
    }
  }
}
