package io.mkebackup.common.record;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class BackupRecordTest {
  @Test
  void apiJsonIsTheSeedsSchema() {
    BackupRecord r = BackupRecord.inProgress("id-1", true, "b.tar", "b.log", "/backups", "node-1", "m-1", "api");
    JsonObject api = r.toApiJson();
    assertThat(api.fieldNames()).containsExactly("id", "encrypted", "fileName", "logFileName", "backupPath",
        "backupState", "nodeLocation", "shortError", "created_at", "completed_at");
    assertThat(api.getString("backupState")).isEqualTo("IN_PROGRESS");
    assertThat(api.getString("completed_at")).isEqualTo("0001-01-01T00:00:00Z");
    assertThat(api.getString("created_at")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
  }

  @Test
  void shortErrorOnlyWhenFailedAndShort() {
    BackupRecord r = BackupRecord.inProgress("id-1", false, "b.tar", "", "/backups", "n", "m", "api");
    assertThat(r.succeeded(1, 2, 3).shortError()).isEmpty();
    BackupRecord failed = r.failed("line one\nline two " + "x".repeat(500));
    assertThat(failed.shortError()).startsWith("line one line two").hasSize(300).doesNotContain("\n");
    assertThat(failed.toApiJson().getString("completed_at")).isNotEqualTo(ApiTime.ZERO);
  }

  @Test
  void storedJsonRoundTrips() {
    BackupRecord r = BackupRecord.inProgress("id-1", true, "b.tar", "b.log", "/backups", "node-1", "m-1", "cli")
        .succeeded(10, 20, 30);
    BackupRecord back = BackupRecord.fromStoredJson(new JsonObject(r.toStoredJson().encode()));
    assertThat(back.toStoredJson()).isEqualTo(r.toStoredJson());
  }

  @Test
  void freezeTimesPerVolumeAreKeptAndShownInTheDetailsNotInTheSeedsSchema() {
    java.util.Map<String, Double> frozen = new java.util.LinkedHashMap<>();
    frozen.put("ucp-auth-store-data", 0.214);
    frozen.put("ucp-auth-worker-data", 0.031);
    BackupRecord r = BackupRecord.inProgress("id-1", true, "b.tar", "", "/backups", "node-1", "m-1", "api")
        .succeeded(10, 20, 30, frozen);
    BackupRecord back = BackupRecord.fromStoredJson(new JsonObject(r.toStoredJson().encode()));
    assertThat(back.frozenSeconds()).containsExactly(java.util.Map.entry("ucp-auth-store-data", 0.214),
        java.util.Map.entry("ucp-auth-worker-data", 0.031));
    assertThat(back.toDetailsJson().getJsonObject("frozenSeconds"))
        .isEqualTo(new JsonObject().put("ucp-auth-store-data", 0.214).put("ucp-auth-worker-data", 0.031));
    assertThat(back.toApiJson().containsKey("frozenSeconds")).isFalse(); // the seed's schema, field for field
    // Kept through later changes of the record (a schedule's retention prunes it).
    assertThat(back.pruned(java.time.Instant.now()).frozenSeconds()).isEqualTo(back.frozenSeconds());
    // A record stored before freeze times existed reads as one that paused nothing.
    JsonObject old = r.toStoredJson();
    old.remove("frozenSeconds");
    assertThat(BackupRecord.fromStoredJson(old).toDetailsJson().getJsonObject("frozenSeconds")).isEmpty();
  }
}
