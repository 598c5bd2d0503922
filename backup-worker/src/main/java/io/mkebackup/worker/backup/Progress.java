package io.mkebackup.worker.backup;

import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressEvent.Kind;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.progress.Step;
import java.time.Instant;

/** Keeps a run's counters and turns them into events: one per step change, and byte counts each second. */
final class Progress implements ByteCounter {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(Progress.class.getName());
  private static final long INTERVAL_NANOS = 1_000_000_000L;

  private final String backupId;
  private final ProgressListener listener;
  private Step step;
  private String target = "";
  private long stepBytes;
  private long stepFiles;
  private long totalBytes;
  private long totalFiles;
  private long estimate;
  private long lastEmit = System.nanoTime();
  private final long maxBytesPerSecond;
  private final long startNanos = System.nanoTime();
  private boolean listenerFailed;

  Progress(String backupId, ProgressListener listener) {
    this(backupId, listener, 0);
  }

  /** @param maxBytesPerSecond 0 for no cap; else {@link #add} waits to keep the average under it */
  Progress(String backupId, ProgressListener listener, long maxBytesPerSecond) {
    this.backupId = backupId;
    this.listener = listener;
    this.maxBytesPerSecond = maxBytesPerSecond;
  }

  void estimate(long bytes) {
    estimate = bytes;
  }

  void started(Step s, String t, String message) {
    step = s;
    target = t == null ? "" : t;
    stepBytes = 0;
    stepFiles = 0;
    emit(Kind.STARTED, message);
  }

  @Override
  public void add(long n) {
    stepBytes += n;
    totalBytes += n;
    long now = System.nanoTime();
    if (now - lastEmit >= INTERVAL_NANOS) {
      lastEmit = now;
      emit(Kind.PROGRESS, ProgressFormat.bytes(totalBytes) + " of about " + ProgressFormat.bytes(estimate));
    }
    if (maxBytesPerSecond > 0) {
      long due = startNanos + (long) (totalBytes * 1e9 / maxBytesPerSecond);
      long wait = due - System.nanoTime();
      if (wait > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(wait);
      }
    }
  }

  /** Ends the current step; files counts what it added. */
  void done(long files, String message) {
    stepFiles = files;
    totalFiles += files;
    emit(Kind.DONE, message);
  }

  /** The step's volume was copied with its writers paused: who, and for how long. */
  void frozen(String message) {
    emit(Kind.FROZEN, message);
  }

  void warning(String message) {
    emit(Kind.WARNING, message);
  }

  void succeeded(String message) {
    emit(Kind.SUCCEEDED, message);
  }

  void failed(String message) {
    emit(Kind.FAILED, message);
  }

  long totalBytes() {
    return totalBytes;
  }

  private void emit(Kind kind, String message) {
    ProgressEvent e = new ProgressEvent(backupId, kind, step, target, message, stepBytes, stepFiles, totalBytes,
        totalFiles, estimate, Instant.now());
    try {
      listener.onEvent(e);
    } catch (RuntimeException failed) {
      // A broken listener (a closed terminal, a full event bus) must not fail the backup; said
      // once per run, as it would fail again for every event.
      if (!listenerFailed) {
        listenerFailed = true;
        LOG.warning("backup " + backupId + ": its progress cannot be reported (" + failed
            + "); the backup goes on without progress events");
      }
    }
  }
}
