package io.mkebackup.deploy.manager;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The healthcheck probes where the manager listens, read as the manager reads it. */
class HealthCheckTest {
  @TempDir
  Path dir;

  @Test
  void theEnvironmentOverTheConfigurationFileOverTheDefaults() throws IOException {
    assertThat(HealthCheck.target(Map.of())).isEqualTo(new HealthCheck.Target("127.0.0.1", 8443, null));
    Path f = Files.writeString(dir.resolve("manager.json"), "{\"httpsPort\": 9443, \"bindAddress\": \"10.0.0.5\"}");
    assertThat(HealthCheck.target(Map.of("MKE_BACKUP_CONFIG", f.toString())))
        .isEqualTo(new HealthCheck.Target("10.0.0.5", 9443, null));
    assertThat(HealthCheck.target(Map.of("MKE_BACKUP_CONFIG", f.toString(), "MKE_BACKUP_HTTPS_PORT", "7443",
        "MKE_BACKUP_BIND_ADDRESS", "auto"))).isEqualTo(new HealthCheck.Target("127.0.0.1", 7443, null));
  }

  @Test
  void whatCannotBeReadIsSaid() {
    assertThat(HealthCheck.target(Map.of("MKE_BACKUP_CONFIG", dir.resolve("missing.json").toString())).error())
        .startsWith("cannot read MKE_BACKUP_CONFIG");
    assertThat(HealthCheck.target(Map.of("MKE_BACKUP_HTTPS_PORT", "many")).error())
        .isEqualTo("httpsPort (MKE_BACKUP_HTTPS_PORT) is not a number");
  }
}
