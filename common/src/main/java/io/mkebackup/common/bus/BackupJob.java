package io.mkebackup.common.bus;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.Passphrase;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A validated backup request on its way from a gateway to a worker (the body of
 * {@link Addresses#JOBS}). Its {@link #toString()} hides the passphrase;
 * never log its JSON.
 *
 * @param passphrase null for an unencrypted backup
 * @param logFileName empty for no log
 * @param origin "api", "cli" or "schedule:&lt;id&gt;"
 * @param tick the schedule's tick (epoch ms) for a scheduled backup, else 0
 */
public record BackupJob(String id, Passphrase passphrase, String fileName, String logFileName, Path hostPath,
    String origin, long tick) {
  public BackupJob(String id, Passphrase passphrase, String fileName, String logFileName, Path hostPath,
      String origin) {
    this(id, passphrase, fileName, logFileName, hostPath, origin, 0);
  }

  public BackupJob {
    Objects.requireNonNull(id);
    Objects.requireNonNull(fileName);
    logFileName = Objects.requireNonNullElse(logFileName, "");
    Objects.requireNonNull(hostPath);
    origin = Objects.requireNonNullElse(origin, "api");
  }

  public JsonObject toJson() {
    JsonObject j = new JsonObject()
        .put("id", id)
        .put("fileName", fileName)
        .put("logFileName", logFileName)
        .put("hostPath", hostPath.toString())
        .put("origin", origin);
    if (passphrase != null) {
      j.put("passphrase", new String(passphrase.chars()));
    } else {
      j.put("noPassphrase", true);
    }
    return j;
  }

  /**
   * Decodes a job from the event bus. An unencrypted job must say so ({@code "noPassphrase": true}),
   * so a job that lost its passphrase is refused rather than written in the clear; the passphrase's
   * length rule is checked here. The rest is checked by the worker's {@link JobRules}.
   */
  public static BackupJob fromJson(JsonObject j) {
    String p = text(j, "passphrase", false);
    boolean noPassphrase = Boolean.TRUE.equals(j.getValue("noPassphrase"));
    if ((p == null) != noPassphrase) {
      throw BackupException.invalid("passphrase", p == null
          ? "the job has no passphrase and does not say noPassphrase: true; an unencrypted backup must be asked for"
          : "the job has both a passphrase and noPassphrase: true");
    }
    String hostPath = text(j, "hostPath", true);
    if (!hostPath.startsWith("/")) {
      throw BackupException.invalid("hostPath", "hostPath is not an absolute path");
    }
    return new BackupJob(text(j, "id", true), p == null ? null : Passphrase.of(p, "passphrase"),
        text(j, "fileName", true), text(j, "logFileName", false), Path.of(hostPath), text(j, "origin", false));
  }

  private static String text(JsonObject j, String field, boolean required) {
    Object v = j.getValue(field);
    if (v == null && !required) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw BackupException.invalid(field, field + (v == null ? " is missing from the job" : " must be a string"));
    }
    return s;
  }

  @Override
  public String toString() {
    return "BackupJob[id=" + id + ", encrypted=" + (passphrase != null) + ", fileName=" + fileName
        + ", logFileName=" + logFileName + ", hostPath=" + hostPath + ", origin=" + origin + "]";
  }
}
