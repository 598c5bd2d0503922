package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.bus.BackupJob;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
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
  }

  @Test
  void includeLogsFalseWithALogFileNameWritesNoLog() {
    // UCP 3.x scripts send both; MKE writes no log and records an empty logFileName.
    BackupJob job = valid("{\"noPassphrase\": true, \"fileName\": \"b.tar\", \"includeLogs\": false,"
        + " \"logFileName\": \"b.log\"}");
    assertThat(job.logFileName()).isEmpty();
    assertThat(job.fileName()).isEqualTo("b.tar");
    // The name is still checked: a path is refused whatever includeLogs says.
    refused("{\"noPassphrase\": true, \"includeLogs\": false, \"logFileName\": \"../b.log\"}", "logFileName");
  }

  @Test
  void keysMatchWithoutRegardToCaseAsInGo() throws Exception {
    Path sub = Files.createDirectory(root.resolve("sub"));
    BackupJob job = valid("{\"NOPASSPHRASE\": true, \"filename\": \"lower.tar\", \"HOSTPATH\": \"" + sub + "\","
        + " \"IncludeLogs\": true, \"LogFileName\": \"lower.log\"}");
    assertThat(job.fileName()).isEqualTo("lower.tar");
    assertThat(job.hostPath()).isEqualTo(sub.toRealPath());
    assertThat(job.logFileName()).isEqualTo("lower.log");
    assertThat(job.passphrase()).isNull();
    assertThat(valid("{\"PassPhrase\": \"twelve chars\", \"FileName\": \"mixed.tar\"}").fileName())
        .isEqualTo("mixed.tar");
  }

  @Test
  void unknownKeysAreIgnoredAndNamed() {
    List<String> ignored = new ArrayList<>();
    BackupJob job = validator().validate(Buffer.buffer("{\"noPassphrase\": true, \"backupName\": \"x\","
        + " \"fileName\": \"k.tar\", \"retries\": 3}"), "api", ignored::addAll);
    assertThat(job.fileName()).isEqualTo("k.tar");
    assertThat(ignored).containsExactly("backupName", "retries");
    List<String> none = new ArrayList<>();
    validator().validate(Buffer.buffer("{\"noPassphrase\": true}"), "api", none::addAll);
    assertThat(none).isEmpty();
  }

  @Test
  void aKeyGivenTwiceInDifferentCasesIsRefused() {
    refused("{\"noPassphrase\": true, \"fileName\": \"a.tar\", \"filename\": \"b.tar\"}", "fileName");
    refused("{\"passphrase\": \"twelve chars\", \"PASSPHRASE\": \"other twelve\"}", "passphrase");
  }

  @Test
  void typesStayStrictWhateverTheCase() {
    refused("{\"noPassphrase\": true, \"filename\": 5}", "fileName");
    refused("{\"nopassphrase\": \"true\"}", "noPassphrase");
    refused("{\"noPassphrase\": true, \"INCLUDELOGS\": \"false\"}", "includeLogs");
    refused("{\"noPassphrase\": true, \"hostpath\": \"relative\"}", "hostPath");
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
