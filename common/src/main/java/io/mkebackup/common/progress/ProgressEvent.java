package io.mkebackup.common.progress;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One progress report of a backup run. JSON shape ({@link #toMap()}):
 * {@code {"backupId","kind","step","target","message","stepBytes","stepFiles","totalBytes",
 * "totalFiles","estimateBytes","at"}}; kind is one of started, progress, done, warning, succeeded,
 * failed. Messages never hold secrets.
 *
 * @param target the volume name for a volume step, else empty
 */
public record ProgressEvent(
    String backupId,
    Kind kind,
    Step step,
    String target,
    String message,
    long stepBytes,
    long stepFiles,
    long totalBytes,
    long totalFiles,
    long estimateBytes,
    Instant at) {

  /** What the event says about its step, or about the run for the two terminal kinds. */
  public enum Kind {
    STARTED, PROGRESS, DONE, WARNING, SUCCEEDED, FAILED,
    /** A volume's writers were paused for its copy: who, and for how long (within its step). */
    FROZEN;

    public String id() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public boolean terminal() {
    return kind == Kind.SUCCEEDED || kind == Kind.FAILED;
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("backupId", backupId);
    m.put("kind", kind.id());
    m.put("step", step == null ? "" : step.id());
    m.put("target", target == null ? "" : target);
    m.put("message", message == null ? "" : message);
    m.put("stepBytes", stepBytes);
    m.put("stepFiles", stepFiles);
    m.put("totalBytes", totalBytes);
    m.put("totalFiles", totalFiles);
    m.put("estimateBytes", estimateBytes);
    m.put("at", at.toString());
    return m;
  }
}
