package io.mkebackup.common.record;

import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.Step;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One backup in the catalog. {@link #toApiJson()} is exactly the seed's backup schema;
 * {@link #toStoredJson()} adds what the cluster needs to keep (the owning cluster member, sizes).
 * Holds no secret.
 *
 * @param ownerMember the cluster member (Hazelcast member UUID) running it, or the CLI's client id
 * @param archiveBytes bytes of the archive file once finished, else 0
 * @param files files inside the archive once finished, else 0
 * @param dataBytes bytes of file content inside the archive once finished, else 0
 * @param origin who asked: "api", "cli" or "schedule:&lt;id&gt;"
 * @param tick for a scheduled backup, the tick (epoch ms) it was fired for, else 0
 * @param prunedAt when a schedule's retention removed its files, else null
 * @param frozenSeconds per volume copied with its writers paused, how long they were paused (as the
 *     archive's metadata says), in the archive's order; empty for a backup that paused nothing
 */
public record BackupRecord(
    String id,
    boolean encrypted,
    String fileName,
    String logFileName,
    String backupPath,
    BackupState state,
    String nodeLocation,
    String shortError,
    Instant createdAt,
    Instant completedAt,
    String ownerMember,
    long archiveBytes,
    long files,
    long dataBytes,
    String origin,
    long tick,
    Instant prunedAt,
    Map<String, Double> frozenSeconds) {

  public BackupRecord {
    Objects.requireNonNull(id);
    Objects.requireNonNull(state);
    Objects.requireNonNull(createdAt);
    fileName = Objects.requireNonNullElse(fileName, "");
    logFileName = Objects.requireNonNullElse(logFileName, "");
    backupPath = Objects.requireNonNullElse(backupPath, "");
    nodeLocation = Objects.requireNonNullElse(nodeLocation, "");
    shortError = state == BackupState.FAILED ? Objects.requireNonNullElse(shortError, "") : "";
    ownerMember = Objects.requireNonNullElse(ownerMember, "");
    origin = Objects.requireNonNullElse(origin, "api");
    frozenSeconds = frozenSeconds == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(frozenSeconds));
  }

  /** A record that paused nothing (or not yet). */
  public BackupRecord(String id, boolean encrypted, String fileName, String logFileName, String backupPath,
      BackupState state, String nodeLocation, String shortError, Instant createdAt, Instant completedAt,
      String ownerMember, long archiveBytes, long files, long dataBytes, String origin, long tick, Instant prunedAt) {
    this(id, encrypted, fileName, logFileName, backupPath, state, nodeLocation, shortError, createdAt, completedAt,
        ownerMember, archiveBytes, files, dataBytes, origin, tick, prunedAt, Map.of());
  }

  public static BackupRecord inProgress(String id, boolean encrypted, String fileName, String logFileName,
      String backupPath, String node, String ownerMember, String origin) {
    return new BackupRecord(id, encrypted, fileName, logFileName, backupPath, BackupState.IN_PROGRESS, node, "",
        Instant.now(), null, ownerMember, 0, 0, 0, origin, 0, null);
  }

  public BackupRecord withTick(long t) {
    return new BackupRecord(id, encrypted, fileName, logFileName, backupPath, state, nodeLocation, shortError,
        createdAt, completedAt, ownerMember, archiveBytes, files, dataBytes, origin, t, prunedAt, frozenSeconds);
  }

  public BackupRecord pruned(Instant at) {
    return new BackupRecord(id, encrypted, fileName, logFileName, backupPath, state, nodeLocation, shortError,
        createdAt, completedAt, ownerMember, archiveBytes, files, dataBytes, origin, tick, at, frozenSeconds);
  }

  public BackupRecord succeeded(long archiveBytes, long files, long dataBytes) {
    return succeeded(archiveBytes, files, dataBytes, Map.of());
  }

  /** @param frozen per volume, the seconds its writers were paused */
  public BackupRecord succeeded(long archiveBytes, long files, long dataBytes, Map<String, Double> frozen) {
    return new BackupRecord(id, encrypted, fileName, logFileName, backupPath, BackupState.SUCCESS, nodeLocation, "",
        createdAt, Instant.now(), ownerMember, archiveBytes, files, dataBytes, origin, tick, prunedAt, frozen);
  }

  public BackupRecord failed(String error) {
    return new BackupRecord(id, encrypted, fileName, logFileName, backupPath, BackupState.FAILED, nodeLocation,
        shortError(error), createdAt, Instant.now(), ownerMember, 0, 0, 0, origin, tick, prunedAt);
  }

  /** Short errors are one line of at most 300 characters. */
  static String shortError(String error) {
    String s = error == null || error.isBlank() ? "failed" : error.strip().replaceAll("\\s+", " ");
    return s.length() <= 300 ? s : s.substring(0, 297) + "...";
  }

  /** The seed's schema, field for field. */
  public JsonObject toApiJson() {
    return new JsonObject()
        .put("id", id)
        .put("encrypted", encrypted)
        .put("fileName", fileName)
        .put("logFileName", logFileName)
        .put("backupPath", backupPath)
        .put("backupState", state.name())
        .put("nodeLocation", nodeLocation)
        .put("shortError", shortError)
        .put("created_at", ApiTime.format(createdAt))
        .put("completed_at", ApiTime.format(completedAt));
  }

  /**
   * The Backup Admin page's form: the seed's record plus sizes, origin, the schedule's tick, when
   * retention pruned it and how long each volume's writers were paused.
   */
  public JsonObject toDetailsJson() {
    return toApiJson()
        .put("archiveBytes", archiveBytes)
        .put("files", files)
        .put("dataBytes", dataBytes)
        .put("origin", origin)
        .put("tick", tick)
        .put("prunedAt", prunedAt == null ? null : ApiTime.format(prunedAt))
        .put("frozenSeconds", frozenJson());
  }

  private JsonObject frozenJson() {
    JsonObject j = new JsonObject();
    frozenSeconds.forEach(j::put);
    return j;
  }

  public JsonObject toStoredJson() {
    return toApiJson()
        .put("ownerMember", ownerMember)
        .put("archiveBytes", archiveBytes)
        .put("files", files)
        .put("dataBytes", dataBytes)
        .put("origin", origin)
        .put("tick", tick)
        .put("prunedAt", prunedAt == null ? null : ApiTime.format(prunedAt))
        .put("frozenSeconds", frozenJson());
  }

  public static BackupRecord fromStoredJson(JsonObject j) {
    Map<String, Double> frozen = new LinkedHashMap<>();
    JsonObject f = j.getJsonObject("frozenSeconds");
    if (f != null) {
      for (String volume : f.fieldNames()) {
        frozen.put(volume, f.getDouble(volume));
      }
    }
    return new BackupRecord(
        j.getString("id"),
        j.getBoolean("encrypted", false),
        j.getString("fileName"),
        j.getString("logFileName"),
        j.getString("backupPath"),
        BackupState.valueOf(j.getString("backupState")),
        j.getString("nodeLocation"),
        j.getString("shortError"),
        Instant.parse(j.getString("created_at")),
        ApiTime.parse(j.getString("completed_at")),
        j.getString("ownerMember"),
        j.getLong("archiveBytes", 0L),
        j.getLong("files", 0L),
        j.getLong("dataBytes", 0L),
        j.getString("origin"),
        j.getLong("tick", 0L),
        ApiTime.parse(j.getString("prunedAt")),
        frozen);
  }

  /**
   * The event that ends this finished backup's progress stream, for when its own was not seen
   * (its member died, or a client subscribed after the end).
   */
  public ProgressEvent terminalEvent() {
    boolean ok = state == BackupState.SUCCESS;
    return new ProgressEvent(id, ok ? ProgressEvent.Kind.SUCCEEDED : ProgressEvent.Kind.FAILED, Step.FINALIZE, "",
        ok ? "backup written" : shortError, 0, 0, dataBytes, files, 0, completedAt == null ? Instant.now() : completedAt);
  }

  public boolean finished() {
    return state != BackupState.IN_PROGRESS;
  }
}
