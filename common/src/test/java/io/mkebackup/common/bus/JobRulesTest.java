package io.mkebackup.common.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.Passphrase;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The worker's second look at a job that came over the event bus, as a hostile member would send it. */
class JobRulesTest {
  @TempDir
  Path base;

  JobRules rules(Path root) {
    return new JobRules(List.of(root), root);
  }

  static BackupJob job(String id, String fileName, String logFileName, Path hostPath, String origin) {
    return new BackupJob(id, null, fileName, logFileName, hostPath, origin);
  }

  static void refused(Runnable r, String field) {
    assertThatThrownBy(r::run).isInstanceOfSatisfying(BackupException.class, e -> {
      assertThat(e.field()).isEqualTo(field);
      assertThat(e.getMessage()).contains(field);
    });
  }

  @Test
  void aJobWithinTheRulesComesBackWithItsDirectoryResolved() throws Exception {
    Path root = Files.createDirectories(base.resolve("backups"));
    Path link = Files.createSymbolicLink(base.resolve("link"), root);
    JobRules rules = new JobRules(List.of(root, link), root);
    String id = UUID.randomUUID().toString();
    BackupJob checked = rules.recheck(job(id, "b.tar", "b.log", link, "schedule:" + UUID.randomUUID()));
    assertThat(checked.hostPath()).isEqualTo(root.toRealPath());
    assertThat(checked.id()).isEqualTo(id);
  }

  @Test
  void directoriesOutsideTheAllowedRootsAreRefusedAlsoThroughALink() throws Exception {
    Path root = Files.createDirectories(base.resolve("backups"));
    Path intoEtc = Files.createSymbolicLink(root.resolve("etc"), Path.of("/etc"));
    String id = UUID.randomUUID().toString();
    refused(() -> rules(root).recheck(job(id, "passwd", "", Path.of("/etc"), "api")), "hostPath");
    refused(() -> rules(root).recheck(job(id, "passwd", "", intoEtc, "api")), "hostPath");
    refused(() -> rules(root).recheck(job(id, "b.tar", "", root.resolve("../.."), "api")), "hostPath");
    refused(() -> rules(root).recheck(job(id, "b.tar", "", root.resolve("missing"), "api")), "hostPath");
  }

  @Test
  void namesIdsAndOriginsAManagerWouldNotMakeAreRefused() throws Exception {
    Path root = Files.createDirectories(base.resolve("backups"));
    String id = UUID.randomUUID().toString();
    refused(() -> rules(root).recheck(job(id, "../passwd", "", root, "api")), "fileName");
    refused(() -> rules(root).recheck(job(id, ".hidden.tar", "", root, "api")), "fileName");
    refused(() -> rules(root).recheck(job(id, "b.tar", "sub/b.log", root, "api")), "logFileName");
    refused(() -> rules(root).recheck(job(id, "b.tar", "b.tar", root, "api")), "logFileName");
    refused(() -> rules(root).recheck(job("../../x", "b.tar", "", root, "api")), "id");
    refused(() -> rules(root).recheck(job(id, "b.tar", "", root, "schedule:../x")), "origin");
  }

  /** The value is quoted as every message quotes outside values: escaped and cut short. */
  @Test
  void aRefusedValueIsQuotedEscapedAndCutShort() {
    String id = "x\u001b[2J\udcff" + "y".repeat(200);
    assertThatThrownBy(() -> rules(Path.of("/backups")).recheck(job(id, "b.tar", "", Path.of("/backups"), "api")))
        .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.getMessage())
            .startsWith("id 'x\\x1B[2J\\xFFyyy").contains("y...'").hasSizeLessThan(120));
  }

  @Test
  void aJobOnTheBusMustAskForNoEncryptionExplicitly() {
    String id = UUID.randomUUID().toString();
    JsonObject plain = job(id, "b.tar", "", Path.of("/backups"), "api").toJson();
    assertThat(plain.getBoolean("noPassphrase")).isTrue();
    assertThat(BackupJob.fromJson(plain).passphrase()).isNull();
    JsonObject lost = plain.copy();
    lost.remove("noPassphrase");
    refused(() -> BackupJob.fromJson(lost), "passphrase");
    refused(() -> BackupJob.fromJson(plain.copy().put("passphrase", "a good passphrase")), "passphrase");
    refused(() -> BackupJob.fromJson(lost.copy().put("passphrase", "short")), "passphrase");
    refused(() -> BackupJob.fromJson(plain.copy().put("hostPath", 7)), "hostPath");
    refused(() -> BackupJob.fromJson(plain.copy().put("hostPath", "relative/dir")), "hostPath");
    BackupJob encrypted = new BackupJob(id, Passphrase.of("a good passphrase", "passphrase"), "b.tar", "",
        Path.of("/backups"), "api");
    JsonObject wire = encrypted.toJson();
    assertThat(wire.containsKey("noPassphrase")).isFalse();
    assertThat(BackupJob.fromJson(wire).passphrase()).isNotNull();
  }
}
