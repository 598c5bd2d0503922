package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.api.KeyValue;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.EtcdClient;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Restore against the real Docker engine and etcd: a demo state backed up, removed, restored, and
 * compared file by file and key by key; and every refusal leaving nothing behind.
 */
@Tag("integration")
class RestoreIT {
  static final String SECRET = "restore-it-passphrase";

  /** Every ucp-* volume's tree: path -> type, mode, owner, mtime (µs) and content hash or link. */
  static Map<String, String> trees(DemoFixture demo) throws IOException {
    Map<String, String> all = new TreeMap<>();
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      for (DockerEngine.VolumeInfo v : docker.ucpVolumes(demo.prefix)) {
        if (BackupConfig.DEFAULT_EXCLUDED.contains(v.name()) || v.name().equals("ucp-kv")) {
          continue;
        }
        try (Stream<Path> walk = Files.walk(v.mountpoint())) {
          for (Path p : (Iterable<Path>) walk::iterator) {
            all.put(v.name() + "/" + v.mountpoint().relativize(p), describe(p));
          }
        }
      }
    }
    return all;
  }

  static String describe(Path p) throws IOException {
    Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
    long micros = ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.MICROSECONDS);
    String what;
    if (Files.isSymbolicLink(p)) {
      what = "link:" + Files.readSymbolicLink(p);
    } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      what = "dir";
    } else {
      try (InputStream in = Files.newInputStream(p)) {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] b = new byte[1 << 16];
        for (int n = in.read(b); n >= 0; n = in.read(b)) {
          sha.update(b, 0, n);
        }
        what = "file:" + HexFormat.of().formatHex(sha.digest());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
    boolean symlink = Files.isSymbolicLink(p);
    return what + " mode=" + (symlink ? "-" : Integer.toOctalString((Integer) a.get("mode") & 07777)) + " uid=" + a.get("uid")
        + " gid=" + a.get("gid") + " mtime=" + micros;
  }

  static Map<String, String> keys(DemoFixture demo) {
    Map<String, String> kv = new TreeMap<>();
    try (EtcdClient c = EtcdClient.connect(demo.etcdEndpoint())) {
      for (KeyValue k : c.prefix("/")) {
        kv.put(k.getKey().toStringUtf8(), k.getValue().toStringUtf8());
      }
    }
    return kv;
  }

  static List<String> volumes(DemoFixture demo) {
    try (DockerEngine docker = DockerEngine.connect(BackupConfig.DEFAULT_DOCKER_HOST)) {
      return docker.ucpVolumes(demo.prefix).stream().map(DockerEngine.VolumeInfo::name).toList();
    }
  }

  static Cli.Result backup(DemoFixture demo, Path file, boolean encrypted) throws Exception {
    List<String> args = new ArrayList<>(List.of("backup", "--file", file.toString()));
    args.addAll(encrypted ? List.of("--passphrase", SECRET) : List.of("--no-passphrase"));
    args.addAll(demo.cliOptions());
    Cli.Result r = Cli.run(args);
    assertThat(r.exit()).as(r.stderr()).isZero();
    return r;
  }

  static Cli.Result restore(DemoFixture demo, Path file, List<String> extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("restore", "--file", file.toString(), "--volume-prefix", demo.prefix,
        "--etcd-peer-url", "http://127.0.0.1:" + demo.peerPort));
    args.addAll(extra);
    return Cli.run(args);
  }

  @ParameterizedTest(name = "encrypted={0}")
  @ValueSource(booleans = {true, false})
  void restoredStateIsIdenticalAndEtcdAnswersEveryKey(boolean encrypted, @TempDir Path dir) throws Exception {
    try (DemoFixture demo = DemoFixture.create(300, 0)) {
      Map<String, String> files = trees(demo);
      Map<String, String> keys = keys(demo);
      assertThat(files).hasSizeGreaterThan(30);
      assertThat(keys).hasSizeGreaterThanOrEqualTo(300);
      Path archive = dir.resolve("b.tar");
      backup(demo, archive, encrypted);

      demo.demo.remove();
      assertThat(volumes(demo)).isEmpty();
      Cli.Result r = restore(demo, archive, encrypted ? List.of("--passphrase", SECRET) : List.of("--no-passphrase"));
      assertThat(r.exit()).as(r.stderr()).isZero();
      assertThat(r.stderr()).contains("verify: ok").contains("etcd: done").contains("OK: restored");

      assertThat(trees(demo)).isEqualTo(files);
      demo.demo.ensure(); // starts etcd on the restored ucp-kv, changing nothing
      String output = demo.output.toString();
      assertThat(output.substring(output.lastIndexOf("created container " + demo.prefix + "ucp-kv")))
          .contains("etcd runs in container")
          .doesNotContain("Kubernetes-shaped keys"); // no fresh keys were written after the restore
      assertThat(keys(demo)).isEqualTo(keys);
      assertThat(trees(demo)).isEqualTo(files);
    }
  }

  @Test
  void dryRunWritesNothing(@TempDir Path dir) throws Exception {
    try (DemoFixture demo = DemoFixture.create(20, 0)) {
      Path archive = dir.resolve("b.tar");
      backup(demo, archive, false);
      demo.demo.remove();
      Cli.Result r = restore(demo, archive, List.of("--no-passphrase", "--dry-run"));
      assertThat(r.exit()).as(r.stderr()).isZero();
      assertThat(r.stderr()).contains("would restore volume " + demo.prefix + "ucp-auth-store-data (create)")
          .contains("would restore volume " + demo.prefix + "ucp-kv (create) from the etcd snapshot")
          .contains("dry run: nothing written");
      assertThat(volumes(demo)).isEmpty();
    }
  }

  @Test
  void refusalsLeaveNothingRestored(@TempDir Path dir) throws Exception {
    try (DemoFixture demo = DemoFixture.create(20, 0)) {
      Path archive = dir.resolve("b.tar");
      backup(demo, archive, true);
      Path plain = dir.resolve("plain.tar");
      backup(demo, plain, false);

      // Non-empty target: the state is still there.
      Map<String, String> before = trees(demo);
      Cli.Result notEmpty = restore(demo, archive, List.of("--passphrase", SECRET));
      assertOneLine(notEmpty, "exists and is not empty", "--force");
      assertThat(trees(demo)).isEqualTo(before);

      demo.demo.remove();
      Cli.Result wrong = restore(demo, archive, List.of("--passphrase", "not-the-right-passphrase"));
      assertOneLine(wrong, "passphrase");
      assertThat(volumes(demo)).isEmpty();

      Path flipped = copy(archive, dir.resolve("flipped.tar"));
      try (RandomAccessFile f = new RandomAccessFile(flipped.toFile(), "rw")) {
        long at = f.length() / 2;
        f.seek(at);
        int b = f.read();
        f.seek(at);
        f.write(b ^ 0x01);
      }
      assertOneLine(restore(demo, flipped, List.of("--passphrase", SECRET)), "integrity");
      assertThat(volumes(demo)).isEmpty();

      Path truncated = copy(plain, dir.resolve("truncated.tar"));
      try (RandomAccessFile f = new RandomAccessFile(truncated.toFile(), "rw")) {
        f.setLength(f.length() - 20480); // past the 10 KiB record padding, into the metadata entry
      }
      assertOneLine(restore(demo, truncated, List.of("--no-passphrase")), "cut short");
      assertThat(volumes(demo)).isEmpty();

      // A failure while writing (etcdctl refuses the peer URL, after every volume is written):
      // the volumes it created are removed again.
      Cli.Result midway = Cli.run(List.of("restore", "--file", plain.toString(), "--no-passphrase", "--volume-prefix",
          demo.prefix, "--etcd-peer-url", "not a url"));
      assertOneLine(midway, "etcdctl snapshot restore failed", "removed the volumes it had created");
      assertThat(midway.stderr()).contains("volume " + demo.prefix + "ucp-auth-store-data: writing");
      assertThat(volumes(demo)).isEmpty();

      Path older = withProductVersion(plain, "3.6.4", dir);
      Cli.Result version = restore(demo, older, List.of("--no-passphrase"));
      assertOneLine(version, "3.6.4", "same major.minor", "--force");
      assertThat(volumes(demo)).isEmpty();
      Cli.Result forced = restore(demo, older, List.of("--no-passphrase", "--force"));
      assertThat(forced.exit()).as(forced.stderr()).isZero();
      assertThat(forced.stderr()).contains("--force: restoring a 3.6.4 backup");
      assertThat(volumes(demo)).isNotEmpty();
    }
  }

  static void assertOneLine(Cli.Result r, String... fragments) {
    assertThat(r.exit()).as(r.stderr()).isEqualTo(1);
    List<String> errors = r.stderr().lines().filter(l -> l.startsWith("mke-backup: error: ")).toList();
    assertThat(errors).as(r.stderr()).hasSize(1);
    for (String f : fragments) {
      assertThat(errors.get(0)).contains(f);
    }
  }

  static Path copy(Path from, Path to) throws IOException {
    return Files.copy(from, to);
  }

  /** The same archive, rewritten with GNU tar, whose metadata claims another product version. */
  static Path withProductVersion(Path plain, String version, Path dir) throws Exception {
    Path x = Files.createDirectory(dir.resolve("x-" + version));
    assertThat(Tools.sh("tar --list -f " + plain + " > " + dir.resolve("order.txt")
        + " && tar -xpf " + plain + " --numeric-owner -C " + x).exit()).isZero();
    Path meta = x.resolve("backup-metadata.json");
    JsonObject m = new JsonObject(Files.readString(meta));
    m.put("productVersion", version);
    Files.writeString(meta, m.encodePrettily());
    Path out = dir.resolve("version-" + version + ".tar");
    Tools.Out t = Tools.sh("tar -cf " + out + " --format=posix --numeric-owner --no-recursion -C " + x
        + " -T " + dir.resolve("order.txt"));
    assertThat(t.exit()).as(t.text()).isZero();
    return out;
  }
}
