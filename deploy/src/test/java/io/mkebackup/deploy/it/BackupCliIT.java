package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as the seed uses it: streaming to stdout, passphrase from stdin, logs, JSON progress, terminals. */
@Tag("integration")
class BackupCliIT {
  static final String SECRET = "cli passphrase from stdin";
  static DemoFixture demo;

  @BeforeAll
  static void up() throws IOException {
    demo = DemoFixture.create(50, 0);
  }

  @AfterAll
  static void down() throws IOException {
    demo.close();
  }

  static List<String> backupArgs(String... options) {
    List<String> args = new ArrayList<>(List.of("backup"));
    args.addAll(demo.cliOptions());
    args.addAll(List.of(options));
    return args;
  }

  @Test
  void streamsToStdoutWithThePassphraseFromStdinAndOneLinePerStep(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("mybackup.tar");
    Cli.Result r = Cli.run(List.of(), backupArgs("--passphrase", "-"), SECRET + "\n", out);
    assertThat(r.exit()).as(r.stderr()).isZero();
    assertThat(r.stderr()).doesNotContain(SECRET);
    List<String> lines = r.stderr().lines().toList();
    assertThat(lines).allMatch(l -> l.contains(" INFO  ") || l.contains(" WARN  "));
    assertThat(String.join("\n", lines)).containsSubsequence(" validation: ok", " volume ucp-auth-api-certs: ",
        " etcd ucp-kv: snapshot", " auth-store ucp-auth-store-data: ", " finalize: archive complete",
        " finalize: backup ");
    Tools.Out list = Tools.sh(Tools.gpgDecrypt(out, SECRET, dir) + " | tar --list");
    assertThat(list.exit()).as(list.text()).isZero();
    assertThat(list.text()).contains("./ucp-controller-server-certs/key.pem");
    Cli.Result v = Cli.run(List.of(), List.of("verify", "-", "--passphrase", "-"), null, dir.resolve("v.txt"));
    assertThat(v.exit()).isEqualTo(2); // stdin cannot carry both: the second is refused, not guessed
    Cli.Result ok = Cli.run(List.of("verify", out.toString(), "--passphrase", SECRET));
    assertThat(ok.exit()).as(ok.stderr()).isZero();
  }

  @Test
  void jsonLogIsOneJsonObjectPerLine(@TempDir Path dir) throws Exception {
    Cli.Result r = Cli.run(List.of(), backupArgs("--no-passphrase", "--jsonlog", "--file",
        dir.resolve("b.tar").toString()), null, dir.resolve("out"));
    assertThat(r.exit()).as(r.stderr()).isZero();
    ObjectMapper json = new ObjectMapper();
    List<Map<String, Object>> events = new ArrayList<>();
    for (String line : r.stderr().lines().toList()) {
      events.add(json.readValue(line, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {}));
    }
    assertThat(events).extracting(e -> (Object) e.get("kind")).contains("done", "succeeded");
    assertThat(events).filteredOn(e -> "done".equals(e.get("kind"))).extracting(e -> (Object) e.get("step"))
        .containsSubsequence("validation", "volume", "etcd", "auth-store", "finalize");
    assertThat(events.get(events.size() - 1)).containsEntry("kind", (Object) "succeeded");
    assertThat(events).allSatisfy(e -> assertThat(e).containsKeys("backupId", "totalBytes", "at"));
  }

  @Test
  void includeLogsWritesAnEncryptedLogBesideTheArchive(@TempDir Path dir) throws Exception {
    Path archive = dir.resolve("backup1.tar");
    Cli.Result r = Cli.run(List.of(), backupArgs("--passphrase", SECRET, "--include-logs", "--file",
        archive.toString()), null, dir.resolve("out"));
    assertThat(r.exit()).as(r.stderr()).isZero();
    Path log = dir.resolve("backup1.log");
    assertThat(Tools.listing(dir)).containsExactlyInAnyOrder("backup1.tar", "backup1.log", "out");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(archive))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log))).isEqualTo("rw-------");
    assertThat(Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain("validation");
    Tools.Out text = Tools.sh(Tools.gpgDecrypt(log, SECRET, dir));
    assertThat(text.exit()).as(text.text()).isZero();
    assertThat(text.text()).contains("validation: ok", "etcd ucp-kv", "succeeded").doesNotContain(SECRET);
  }

  @Test
  void aPassphraseFileKeepsThePassphraseOffTheCommandLineAndAValueThereWarns(@TempDir Path dir) throws Exception {
    String secret = "cli-passphrase-file-" + System.nanoTime();
    Path file = Files.createFile(dir.resolve("pass"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, secret + "\n");
    Path archive = dir.resolve("b.tar");
    try (CommandLineWatch ps = CommandLineWatch.start(secret)) {
      Cli.Result r = Cli.run(List.of(), backupArgs("--passphrase-file", file.toString(), "--file", archive.toString()),
          null, dir.resolve("out"));
      assertThat(r.exit()).as(r.stderr()).isZero();
      assertThat(r.stderr()).doesNotContain("warning").doesNotContain(secret);
      Cli.Result v = Cli.run(List.of("verify", archive.toString(), "--passphrase-file", file.toString()));
      assertThat(v.exit()).as(v.stderr()).isZero();
      Tools.Out list = Tools.sh(Tools.gpgDecrypt(archive, secret, dir) + " | tar --list");
      assertThat(list.exit()).as(list.text()).isZero();
      assertThat(ps.saw(l -> l.contains("--passphrase-file " + file))).as("the sampling saw the commands").isTrue();
      assertThat(ps.leaks()).isEmpty();
    }
    Cli.Result onTheLine = Cli.run(List.of("verify", archive.toString(), "--passphrase", secret));
    assertThat(onTheLine.exit()).isZero();
    assertThat(onTheLine.stderr()).contains("mke-backup: warning: --passphrase with a value shows it to every user")
        .doesNotContain(secret);
    Cli.Result both = Cli.run(List.of(), backupArgs("--passphrase-file", file.toString(), "--no-passphrase"), null,
        dir.resolve("out2"));
    assertThat(both.exit()).isEqualTo(2);
    assertThat(both.stderr()).contains("exclude each other");
  }

  @Test
  void includeLogsToStdoutIsRefused(@TempDir Path dir) throws Exception {
    Cli.Result r = Cli.run(List.of(), backupArgs("--no-passphrase", "--include-logs"), null, dir.resolve("out"));
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.stderr()).contains("--include-logs needs --file");
    assertThat(Files.size(dir.resolve("out"))).isZero();
  }

  @Test
  void refusesToWriteBinaryToATerminal(@TempDir Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = java + " -jar " + Cli.JAR.toAbsolutePath() + " " + String.join(" ", backupArgs("--no-passphrase"));
    // script(1) gives the command a pseudo-terminal as its stdout, as an interactive shell would.
    Tools.Out r = Tools.sh("script -qec '" + command + "' /dev/null");
    assertThat(r.exit()).as(r.text()).isEqualTo(2);
    assertThat(r.text()).contains("refusing to write a binary archive to a terminal");
  }
}
