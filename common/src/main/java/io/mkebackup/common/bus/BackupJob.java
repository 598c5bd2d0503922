package io.mkebackup.common.bus;

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
    }
    return j;
  }

  public static BackupJob fromJson(JsonObject j) {
    String p = j.getString("passphrase");
    return new BackupJob(j.getString("id"), p == null ? null : Passphrase.of(p, "passphrase"), j.getString("fileName"),
        j.getString("logFileName"), Path.of(j.getString("hostPath")), j.getString("origin"));
  }

  @Override
  public String toString() {
    return "BackupJob[id=" + id + ", encrypted=" + (passphrase != null) + ", fileName=" + fileName
        + ", logFileName=" + logFileName + ", hostPath=" + hostPath + ", origin=" + origin + "]";
  }
}
