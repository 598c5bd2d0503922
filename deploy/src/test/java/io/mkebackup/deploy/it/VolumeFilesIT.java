package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.source.DockerEngine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificates are read out of volumes MKE's containers write (ucp-kv-certs, ucp-client-root-ca):
 * a link or an oversized file there is refused, never followed or read whole.
 */
@Tag("integration")
class VolumeFilesIT {
  @Test
  void aLinkOrAHugeFileInACertificateVolumeIsRefused(@TempDir Path outside) throws Exception {
    String volume = "it" + UUID.randomUUID().toString().substring(0, 8) + "-ucp-kv-certs";
    Path canary = Files.writeString(outside.resolve("secret.pem"), "-----BEGIN PRIVATE KEY-----\ncanary\n");
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      Path mount = docker.createVolume(volume, Map.of("io.mkebackup.demo", "volume-files-it"));
      try {
        Files.writeString(mount.resolve("ca.pem"), "a certificate\n");
        Files.createSymbolicLink(mount.resolve("key.pem"), canary);
        Files.write(mount.resolve("cert.pem"), new byte[70 * 1024]);
        Map<String, byte[]> read = docker.readVolumeFiles(BackupConfig.DEFAULT_HELPER_IMAGE, volume,
            List.of("ca.pem", "missing.pem"), 64 * 1024);
        assertThat(read).containsOnlyKeys("ca.pem");
        assertThat(new String(read.get("ca.pem"), StandardCharsets.US_ASCII)).isEqualTo("a certificate\n");
        for (String hostile : List.of("key.pem", "cert.pem")) {
          assertThatThrownBy(() -> docker.readVolumeFiles(BackupConfig.DEFAULT_HELPER_IMAGE, volume, List.of(hostile),
              64 * 1024)).isInstanceOfSatisfying(BackupException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.VOLUME_READ_FAILED);
                assertThat(e.getMessage()).contains(hostile + " in volume " + volume + " is not a regular file")
                    .doesNotContain("canary");
              });
        }
      } finally {
        docker.removeVolume(volume);
      }
    }
  }
}
