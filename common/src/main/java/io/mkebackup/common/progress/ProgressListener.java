package io.mkebackup.common.progress;

/**
 * Receives the progress of a backup run: the CLI prints it, the cluster service publishes it on
 * the event bus. Called from the backup thread; implementations must not block for long.
 */
@FunctionalInterface
public interface ProgressListener {
  ProgressListener NONE = event -> {};

  void onEvent(ProgressEvent event);

  default ProgressListener and(ProgressListener other) {
    return event -> {
      onEvent(event);
      other.onEvent(event);
    };
  }
}
