package io.mkebackup.common.schedule;

import io.mkebackup.common.record.ApiTime;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A scheduled backup, cluster state. Holds the name of the file with the passphrase, never the
 * passphrase.
 *
 * @param keepLast retention: keep this many newest successful backups of the schedule, or null
 * @param maxAge retention: remove successful backups older than this, or null
 * @param lastTick the latest tick claimed by a member (epoch ms), 0 for none; the claim is a
 *     compare-and-set on this value, so each tick fires once in the cluster
 */
public record Schedule(String id, String cron, boolean paused, String hostPath, boolean includeLogs,
    boolean noPassphrase, String fileNamePrefix, String passphraseFile, Integer keepLast, Duration maxAge,
    Instant createdAt, long lastTick) {

  public static final String DEFAULT_PREFIX = "mke-backup-scheduled";

  public Schedule {
    Objects.requireNonNull(id);
    Objects.requireNonNull(cron);
    fileNamePrefix = fileNamePrefix == null || fileNamePrefix.isEmpty() ? DEFAULT_PREFIX : fileNamePrefix;
    Objects.requireNonNull(createdAt);
  }

  public Cadence cadence() {
    return Cadence.parse(cron, "cron");
  }

  /** The origin its backups carry in the catalog. */
  public String origin() {
    return "schedule:" + id;
  }

  public Schedule withLastTick(long tick) {
    return new Schedule(id, cron, paused, hostPath, includeLogs, noPassphrase, fileNamePrefix, passphraseFile, keepLast,
        maxAge, createdAt, tick);
  }

  public JsonObject toJson() {
    JsonObject retention = new JsonObject();
    if (keepLast != null) {
      retention.put("keepLast", keepLast);
    }
    if (maxAge != null) {
      retention.put("maxAge", Durations.format(maxAge));
    }
    JsonObject j = new JsonObject()
        .put("id", id)
        .put("cron", cron)
        .put("paused", paused)
        .put("hostPath", hostPath)
        .put("includeLogs", includeLogs)
        .put("noPassphrase", noPassphrase)
        .put("fileNamePrefix", fileNamePrefix)
        .put("retention", retention)
        .put("created_at", ApiTime.format(createdAt))
        .put("lastTick", lastTick);
    if (passphraseFile != null) {
      j.put("passphraseFile", passphraseFile);
    }
    return j;
  }

  /** What the API shows: the stored form, with the last and next tick as times. */
  public JsonObject toApiJson(Instant now) {
    JsonObject j = toJson();
    j.put("lastTick", lastTick == 0 ? ApiTime.ZERO : ApiTime.format(Instant.ofEpochMilli(lastTick)));
    Instant next = paused ? null : cadence().nextTick(now, createdAt);
    j.put("nextTick", next == null ? ApiTime.ZERO : ApiTime.format(next));
    return j;
  }

  public static Schedule fromJson(JsonObject j) {
    JsonObject r = j.getJsonObject("retention", new JsonObject());
    String maxAge = r.getString("maxAge");
    return new Schedule(j.getString("id"), j.getString("cron"), j.getBoolean("paused", false), j.getString("hostPath"),
        j.getBoolean("includeLogs", false), j.getBoolean("noPassphrase", false), j.getString("fileNamePrefix"),
        j.getString("passphraseFile"), r.getInteger("keepLast"), maxAge == null ? null : Durations.parse(maxAge, "maxAge"),
        Instant.parse(j.getString("created_at")), j.getLong("lastTick", 0L));
  }
}
