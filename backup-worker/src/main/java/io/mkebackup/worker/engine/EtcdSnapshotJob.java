package io.mkebackup.worker.engine;

import io.etcd.jetcd.api.StatusResponse;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.worker.source.EtcdDiscovery;
import io.mkebackup.worker.source.EtcdEndpoint;
import io.mkebackup.worker.source.EtcdSnapshotSource;
import io.mkebackup.worker.source.EtcdSource;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The etcd half of a backup, on a thread of its own while the volumes are copied: find ucp-kv
 * (with {@code --etcd-endpoint auto}), connect, ask its status, and spool a snapshot whose SHA-256
 * trailer is checked. Connecting costs a second or more (TLS, gRPC); done in parallel it costs the
 * backup nothing. A failure is not left for the etcd step to find: {@link #failFast()}, asked
 * before every chunk the archive's writer writes, stops the backup as soon as etcd has refused or
 * its time to answer is up.
 */
final class EtcdSnapshotJob implements AutoCloseable {
  /** What etcd answered and where its snapshot lies. */
  record Snapshot(String url, StatusResponse status, Path spool, long bytes, long takenAt) {}

  private final EtcdEndpoint configured;
  private final long answerDeadline;
  private final CompletableFuture<StatusResponse> answered = new CompletableFuture<>();
  private final CompletableFuture<Snapshot> done = new CompletableFuture<>();
  private volatile EtcdSource source;
  private volatile boolean closed;
  private final Thread thread;

  /**
   * Starts the job.
   *
   * @param configured the endpoint as configured (its URL or auto, and its timeout)
   * @param connect finds and connects etcd, on the job's thread
   * @param spool the file to spool the snapshot to (in the run's private spool directory)
   */
  static EtcdSnapshotJob start(EtcdEndpoint configured, Supplier<EtcdSource> connect, Path spool, String tag) {
    EtcdSnapshotJob job = new EtcdSnapshotJob(configured, connect, spool, tag);
    job.thread.start();
    return job;
  }

  /** The real etcd of a configuration: found through ucp-kv when it says auto, connected with jetcd. */
  static EtcdSource connect(EngineConfig config) {
    return EtcdSnapshotSource.connect(EtcdDiscovery.resolve(config.etcd(), config.dockerHost(), config.volumePrefix(),
        config.helperImage()));
  }

  private EtcdSnapshotJob(EtcdEndpoint configured, Supplier<EtcdSource> connect, Path spool, String tag) {
    this.configured = configured;
    // As long as a connection was given before: etcd's own timeout and a margin.
    long wait = (configured.timeout() == null ? 10_000 : configured.timeout().toMillis()) + 5_000;
    this.answerDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
    this.thread = new Thread(() -> run(connect, spool), "mke-backup-etcd-" + tag);
    thread.setDaemon(true);
  }

  private void run(Supplier<EtcdSource> connect, Path spool) {
    try {
      EtcdSource s = connect.get();
      source = s;
      try (s) {
        if (closed) {
          throw new BackupException(ErrorCode.INTERNAL, "the backup stopped before etcd answered");
        }
        StatusResponse status = s.status();
        answered.complete(status);
        long bytes = s.snapshotTo(spool);
        done.complete(new Snapshot(s.url(), status, spool, bytes, System.currentTimeMillis()));
      }
    } catch (Throwable t) {
      BackupException failure = BackupEngine.classify(t);
      answered.completeExceptionally(failure);
      done.completeExceptionally(failure);
    } finally {
      source = null;
    }
  }

  /**
   * Throws etcd's failure if it has one, or a timeout once etcd has had its time to answer and has
   * not; else returns at once (a volatile read: it runs for every chunk written).
   */
  void failFast() {
    if (done.isCompletedExceptionally()) {
      awaitSnapshot();
    }
    if (!answered.isDone() && System.nanoTime() - answerDeadline > 0) {
      throw notAnswered(null);
    }
  }

  /** Waits for the snapshot: for etcd's answer no longer than its time to answer, then for the stream. */
  Snapshot awaitSnapshot() {
    try {
      long left = Math.max(0, answerDeadline - System.nanoTime());
      answered.get(left, TimeUnit.NANOSECONDS);
      return done.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof BackupException be ? be : BackupEngine.classify(e.getCause());
    } catch (TimeoutException e) {
      throw notAnswered(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackupException(ErrorCode.INTERNAL, "the backup was interrupted", e);
    }
  }

  private BackupException notAnswered(Throwable cause) {
    long wait = (configured.timeout() == null ? 10_000 : configured.timeout().toMillis()) + 5_000;
    return new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd at " + configured.url() + " did not answer within "
        + wait / 1000 + " s; check that it runs and that this manager reaches it", cause);
  }

  /**
   * Stops the job if it still runs (closing its connection ends a snapshot stream) and waits a
   * little for its thread, so that nothing writes the spool once the run has removed it.
   */
  @Override
  public void close() {
    closed = true;
    EtcdSource s = source;
    if (s != null) {
      s.close();
    }
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
