package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * deploy/demo.sh end to end (on a demo state and ports of its own) while every process's command
 * line is sampled: the admin password, the passphrase and the login token never show in ps.
 */
@Tag("integration")
class DemoScriptIT {
  static final Path DEMO = Path.of(System.getProperty("mke.backup.jar", "target/mke-backup.jar"))
      .toAbsolutePath().getParent().getParent().resolve("demo.sh");
  static final Path LOCAL_CLUSTER = DEMO.resolveSibling("local-cluster.sh");

  static Tools.Out script(Map<String, String> env, String command) throws Exception {
    Path out = Scratch.file("demo-", ".txt");
    ProcessBuilder pb = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).redirectErrorStream(true)
        .redirectOutput(out.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("MKE_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not finish: " + Files.readString(out));
    }
    String text = Files.readString(out);
    Files.delete(out);
    return new Tools.Out(p.exitValue(), text);
  }

  @Test
  void theDemoKeepsEverySecretOffTheCommandLine() throws Exception {
    try (DemoFixture demo = DemoFixture.create(50, 0)) {
      Path dir = Scratch.dir("mke-demo-");
      String password = "pw-" + UUID.randomUUID();
      String passphrase = "demo-passphrase-" + UUID.randomUUID();
      Files.writeString(Files.createFile(dir.resolve("demo-passphrase"),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))), passphrase + "\n");
      int https = DemoFixture.freePort();
      int hz = DemoFixture.freePort();
      // The environment, the password included, goes to the script as an environment: a shell
      // command line holding it would show in ps itself.
      Map<String, String> env = new HashMap<>(Map.of("MKE_DEMO_SKIP_BUILD", "1",
          "MKE_LOCAL_CLUSTER_DIR", dir.toString(), "MKE_LOCAL_HTTPS_PORT", String.valueOf(https),
          "MKE_LOCAL_CLUSTER_PORT", String.valueOf(hz), "MKE_BACKUP_VOLUME_PREFIX", demo.prefix,
          "MKE_BACKUP_CLUSTER_NAME", "it-" + demo.prefix,
          "MKE_ADMIN_PASSWORD", password));
      env.put("MKE_LOCAL_DEMO_ARGS", "--etcd-client-port " + demo.clientPort + " --etcd-peer-port " + demo.peerPort);
      Tools.Out run;
      try (CommandLineWatch ps = CommandLineWatch.start(password, passphrase)) {
        try {
          run = script(env, DEMO.toString());
        } finally {
          script(env, LOCAL_CLUSTER + " down");
        }
        assertThat(run.exit()).as(run.text()).isZero();
        assertThat(run.text()).contains("backupId").contains("\"backupState\": \"SUCCESS\"")
            .contains("integrity packet checked").containsPattern("gpg --decrypt \\| tar --list: \\d+ entries")
            // demo-state runs a live auth store: the backup pauses it for its volume's copy, and says so
            .containsPattern("frozen +auth-store +ucp-auth-store-data +\\S*ucp-auth-store paused \\d+\\.\\d+ s");
        assertThat(run.text()).doesNotContain(password).doesNotContain(passphrase);
        // The sampling saw the demo's commands, token-bearing ones included...
        String api = "127.0.0.1:" + https;
        assertThat(ps.saw(l -> l.contains("curl") && l.contains(api + "/auth/login"))).isTrue();
        assertThat(ps.saw(l -> l.contains("curl") && l.contains(api + "/api/ucp/backup/"))).isTrue();
        assertThat(ps.saw(l -> l.contains("verify") && l.contains("--passphrase-file"))).isTrue();
        // ...and none showed a secret.
        assertThat(ps.leaks()).isEmpty();
        assertThat(ps.saw(l -> l.contains(api) && l.contains("Bearer"))).as("a token on a command line").isFalse();
      }
    }
  }
}
