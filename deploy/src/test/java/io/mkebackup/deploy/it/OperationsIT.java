package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.record.BackupState;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Health, readiness and Prometheus metrics of real managers. */
@Tag("integration")
class OperationsIT {
  @Test
  void metricsCountBackupsAndReadinessIsGreen() throws Exception {
    try (ManagerCluster c = ManagerCluster.start(1, Map.of())) {
      Api api = c.api(0);
      assertThat(api.get("/_ping", null).body()).isEqualTo("OK");
      // Ready a moment after it answers (seen once at load 10: {"ready":false} just after start).
      Api.Response[] answered = new Api.Response[1];
      org.awaitility.Awaitility.await("anonymous /_ready answers 200").atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200)).ignoreExceptions()
          .until(() -> (answered[0] = api.get("/_ready", null)).status() == 200);
      Api.Response anonymous = answered[0];
      assertThat(anonymous.status()).as(anonymous.body()).isEqualTo(200);
      assertThat(anonymous.json()).isEqualTo(new JsonObject().put("ready", true));
      String token = c.token(0);
      Api.Response ready = api.get("/_ready", token);
      assertThat(ready.status()).as(ready.body()).isEqualTo(200);
      JsonObject checks = ready.json().getJsonObject("checks");
      assertThat(checks.fieldNames()).containsExactlyInAnyOrder("cluster", "docker", "etcd", "backupDirectory");
      checks.forEach(e -> assertThat(((JsonObject) e.getValue()).getBoolean("ok")).as(e.getKey()).isTrue());

      String id = api.post("/api/ucp/backup", new JsonObject().put("noPassphrase", true).encode(), token).json()
          .getString("backupId");
      c.awaitState(0, token, id, BackupState.SUCCESS, Duration.ofSeconds(60));
      // The last success is read from the member's view of the catalog, which follows the record
      // a moment after the record itself says SUCCESS (seen once in a full run): the next scrape has it.
      String[] scraped = {""};
      org.awaitility.Awaitility.await("the last success in /metrics").atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(200)).until(() -> {
            scraped[0] = api.get("/metrics", null).body();
            return scraped[0].contains("mke_backup_last_success_timestamp_seconds{schedule=\"all\"}");
          });
      String metrics = scraped[0];
      assertThat(metrics).contains("mke_backup_attempts_total{origin=\"api\"} 1.0")
          .contains("mke_backup_successes_total{origin=\"api\"} 1.0")
          .contains("mke_backup_duration_seconds_count 1")
          .contains("mke_backup_archive_bytes_count 1")
          .contains("mke_backup_lock_held 0.0")
          .contains("mke_backup_cluster_members{proven=\"true\"} 1.0")
          .containsPattern("mke_backup_last_success_timestamp_seconds\\{schedule=\"all\"} 1\\.\\d+E9")
          .containsPattern("mke_backup_last_bytes_per_second [1-9]")
          .contains("vertx_http_server_requests_total")
          .contains("vertx_eventbus_published_total");
    }
  }

  @Test
  void readinessNamesTheDependencyThatIsDown() throws Exception {
    int dead = DemoFixture.freePort();
    try (ManagerCluster c = ManagerCluster.start(1, Map.of("MKE_BACKUP_ETCD_ENDPOINT", "http://127.0.0.1:" + dead))) {
      assertThat(c.api(0).get("/_ready", null).body()).isEqualTo("{\"ready\":false}");
      Api.Response ready = c.api(0).get("/_ready", c.token(0));
      assertThat(ready.status()).as(ready.body()).isEqualTo(503);
      JsonObject checks = ready.json().getJsonObject("checks");
      assertThat(ready.json().getBoolean("ready")).isFalse();
      assertThat(checks.getJsonObject("etcd").getBoolean("ok")).isFalse();
      assertThat(checks.getJsonObject("etcd").getString("detail")).contains(String.valueOf(dead));
      assertThat(checks.getJsonObject("docker").getBoolean("ok")).isTrue();
      assertThat(checks.getJsonObject("cluster").getBoolean("ok")).isTrue();
      assertThat(checks.getJsonObject("backupDirectory").getBoolean("ok")).isTrue();
    }
  }
}
