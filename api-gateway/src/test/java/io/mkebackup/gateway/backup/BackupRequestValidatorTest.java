package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.bus.BackupJob;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupRequestValidatorTest {
  @TempDir
  Path root;

  BackupRequestValidator validator() {
    return new BackupRequestValidator(List.of(root), root);
  }

  BackupJob valid(String json) {
    return validator().validate(Buffer.buffer(json), "api");
  }

  void refused(String json, String field) {
    assertThatThrownBy(() -> valid(json)).isInstanceOfSatisfying(BackupException.class, e -> {
      assertThat(e.field()).isEqualTo(field);
      assertThat(e.getMessage()).contains(field);
    });
  }

  @Test
  void omittedNamesAndDirectoryAreGenerated() {
    BackupJob job = valid("{\"noPassphrase\": true, \"includeLogs\": true}");
    assertThat(job.fileName()).matches("mke-backup-\\d{8}T\\d{6}Z-[0-9a-f]{8}\\.tar");
    assertThat(job.logFileName()).isEqualTo(job.fileName().replace(".tar", ".log"));
    assertThat(job.hostPath()).isEqualTo(root);
    assertThat(job.passphrase()).isNull();
  }

  @Test
  void generatedNamesSortByTime() {
    String earlier = BackupRequestValidator.generatedName("ffffffff-0000", Instant.parse("2026-01-02T03:04:05Z"));
    String later = BackupRequestValidator.generatedName("00000000-0000", Instant.parse("2026-01-02T03:04:06Z"));
    assertThat(earlier).isLessThan(later);
  }

  @Test
  void logFileNameImpliesLogs() {
    assertThat(valid("{\"noPassphrase\": true, \"logFileName\": \"b.log\"}").logFileName()).isEqualTo("b.log");
    refused("{\"noPassphrase\": true, \"includeLogs\": false, \"logFileName\": \"b.log\"}", "logFileName");
  }

  @Test
  void passphraseRules() {
    assertThat(valid("{\"passphrase\": \"twelve chars\"}").passphrase()).isNotNull();
    refused("{\"passphrase\": \"eleven char\"}", "passphrase");
    refused("{}", "passphrase");
    refused("{\"encrypted\": false, \"passphrase\": \"twelve chars\"}", "encrypted");
    assertThat(valid("{\"encrypted\": true, \"passphrase\": \"twelve chars\"}").passphrase()).isNotNull();
  }

  @Test
  void hostPathMustLieInsideTheRootsAfterLinks(@TempDir Path elsewhere) throws Exception {
    Path sub = Files.createDirectory(root.resolve("sub"));
    assertThat(valid("{\"noPassphrase\": true, \"hostPath\": \"" + sub + "\"}").hostPath()).isEqualTo(sub.toRealPath());
    refused("{\"noPassphrase\": true, \"hostPath\": \"" + elsewhere + "\"}", "hostPath");
    Path link = Files.createSymbolicLink(root.resolve("link"), elsewhere);
    refused("{\"noPassphrase\": true, \"hostPath\": \"" + link + "\"}", "hostPath");
    refused("{\"noPassphrase\": true, \"hostPath\": \"" + root + "/sub/../../x\"}", "hostPath");
  }

  @Test
  void plainFileNames() {
    for (String bad : List.of("a/b", "..", ".", ".x", "a\\b", "a\nb", "")) {
      assertThatThrownBy(() -> BackupRequestValidator.checkPlainName("fileName", bad))
          .as(bad).isInstanceOf(BackupException.class);
    }
    BackupRequestValidator.checkPlainName("fileName", "backup 1 (nightly).tar");
  }
}
