package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.backup.BackupProcedure;
import io.mkebackup.worker.backup.BackupRequest;
import io.mkebackup.worker.backup.BackupResult;
import io.mkebackup.worker.pipeline.ArchiveVerifier;
import io.mkebackup.worker.pipeline.VerifyReport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The archive against the real engine, etcd, GnuPG, GNU tar and etcdctl. */
@Tag("integration")
class BackupRoundTripIT {
  static final String SECRET = "interop passphrase 42";
  static final int KEYS = 300;
  static DemoFixture demo;

  @BeforeAll
  static void up() throws IOException {
    demo = DemoFixture.create(KEYS, 0);
  }

  @AfterAll
  static void down() throws IOException {
    demo.close();
  }

  static BackupResult backup(SourceMode mode, Path file, String passphrase, List<ProgressEvent> events) {
    try (Passphrase p = passphrase == null ? null : Passphrase.of(passphrase, "passphrase")) {
      return new BackupProcedure(demo.config(mode)).run(
          new BackupRequest(UUID.randomUUID().toString(), p, file, null, null, "file"), events::add);
    }
  }

  @Test
  void stockGnupgAndTarListTheEncryptedArchiveAndEtcdctlReadsItsSnapshot(@TempDir Path dir) throws Exception {
    Path archive = dir.resolve("backup1.tar");
    List<ProgressEvent> events = new CopyOnWriteArrayList<>();
    backup(SourceMode.AUTO, archive, SECRET, events);

    assertThat(Files.getPosixFilePermissions(archive)).extracting(Object::toString)
        .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
    Tools.Out list = Tools.sh(Tools.gpgDecrypt(archive, SECRET, dir) + " | tar --list");
    assertThat(list.exit()).as(list.text()).isZero();
    List<String> entries = list.text().lines().toList();
    assertThat(entries).hasSizeGreaterThanOrEqualTo(27)
        .contains(ArchiveLayout.REQUIRED_ENTRY, "./ucp-cluster-root-ca/key.pem", "./ucp-controller.json",
            "./ucp-auth-store-data/rethinkdb_data/log_file", ArchiveLayout.METADATA_ENTRY)
        .noneMatch(e -> e.startsWith("./ucp-metrics-data") || e.startsWith("./ucp-node-certs")
            || e.startsWith("./ucp-kv/") || e.contains(demo.prefix));
    assertThat(entries.get(entries.size() - 1)).isEqualTo(ArchiveLayout.METADATA_ENTRY);
    String snapshot = entries.stream().filter(ArchiveLayout::isSnapshotEntry).findFirst().orElseThrow();
    assertThat(snapshot).matches("\\./ucp-backup/\\d{13}/etcd\\.backup\\.db");

    Path x = Files.createDirectory(dir.resolve("x"));
    Tools.Out extract = Tools.sh(Tools.gpgDecrypt(archive, SECRET, dir) + " | tar -x -C " + x + " " + snapshot);
    assertThat(extract.exit()).as(extract.text()).isZero();
    Tools.Out status = Tools.sh("ETCDCTL_API=3 etcdctl snapshot status -w json " + x.resolve(snapshot));
    assertThat(status.exit()).as(status.text()).isZero();
    Map<?, ?> json = new ObjectMapper().readValue(status.text().lines().filter(l -> l.startsWith("{"))
        .findFirst().orElseThrow(), Map.class);
    assertThat(((Number) json.get("totalKey")).intValue()).isGreaterThanOrEqualTo(KEYS);

    try (Passphrase p = Passphrase.of(SECRET, "passphrase"); InputStream in = Files.newInputStream(archive)) {
      VerifyReport r = ArchiveVerifier.verify(in, p, "passphrase");
      assertThat(r.encrypted()).isTrue();
      assertThat(r.entries()).isEqualTo(entries.size() - 1);
      assertThat(r.metadata().node()).isEqualTo("it-node");
      assertThat(r.metadata().encrypted()).isTrue();
    }

    // Progress: every step in order, ending with the terminal state.
    List<String> done = events.stream().filter(e -> e.kind() == ProgressEvent.Kind.DONE)
        .map(e -> e.step().id() + (e.target().isEmpty() ? "" : " " + e.target())).toList();
    assertThat(done.get(0)).isEqualTo("validation");
    assertThat(done).containsSubsequence("validation", "volume ucp-auth-api-certs", "etcd ucp-kv",
        "auth-store ucp-auth-store-data", "finalize");
    assertThat(events.get(events.size() - 1).kind()).isEqualTo(ProgressEvent.Kind.SUCCEEDED);
    assertThat(events).allSatisfy(e -> assertThat(e.message()).doesNotContain(SECRET));
  }

  /** Both read paths give an archive whose every file matches its volume: bytes, mode, owner, mtime, links. */
  @ParameterizedTest
  @EnumSource(value = SourceMode.class, names = {"DISK", "DOCKER"})
  void archiveHoldsEveryVolumeFileExactly(SourceMode mode, @TempDir Path dir) throws Exception {
    Path archive = dir.resolve("plain.tar");
    BackupResult result = backup(mode, archive, null, new ArrayList<>());
    assertThat(result.warnings()).isEmpty();
    Path x = Files.createDirectory(dir.resolve("x"));
    Tools.Out extract = Tools.sh("tar -x -p --numeric-owner -f " + archive + " -C " + x);
    assertThat(extract.exit()).as(extract.text()).isZero();
    Map<?, ?> metadata = new ObjectMapper().readValue(x.resolve("backup-metadata.json").toFile(), Map.class);
    Map<String, String> recorded = new TreeMap<>();
    for (Object o : (List<?>) metadata.get("entries")) {
      Map<?, ?> e = (Map<?, ?>) o;
      if ("file".equals(e.get("type"))) {
        recorded.put((String) e.get("path"), (String) e.get("sha256"));
      }
    }
    int compared = 0;
    for (String volume : List.of("ucp-auth-api-certs", "ucp-auth-store-certs", "ucp-auth-store-data",
        "ucp-auth-worker-certs", "ucp-auth-worker-data", "ucp-client-root-ca", "ucp-cluster-root-ca",
        "ucp-controller-client-certs", "ucp-controller-server-certs", "ucp-kv-certs")) {
      Path source = demo.mountpoint(volume);
      Map<String, Path> inVolume = tree(source);
      Map<String, Path> inArchive = tree(x.resolve(volume));
      assertThat(inArchive.keySet()).as(volume).isEqualTo(inVolume.keySet());
      for (var entry : inVolume.entrySet()) {
        Path a = inArchive.get(entry.getKey());
        Path v = entry.getValue();
        String what = mode + " " + volume + "/" + entry.getKey();
        assertThat(attr(a, "unix:mode")).as(what + " mode").isEqualTo(attr(v, "unix:mode"));
        assertThat(attr(a, "unix:uid")).as(what + " uid").isEqualTo(attr(v, "unix:uid"));
        assertThat(attr(a, "unix:gid")).as(what + " gid").isEqualTo(attr(v, "unix:gid"));
        if (Files.isSymbolicLink(v)) {
          assertThat(Files.readSymbolicLink(a)).as(what).isEqualTo(Files.readSymbolicLink(v));
        } else if (Files.isRegularFile(v)) {
          assertThat(seconds(a)).as(what + " mtime").isEqualTo(seconds(v));
          String sha = sha256(v);
          assertThat(sha256(a)).as(what + " content").isEqualTo(sha);
          assertThat(recorded.get("./" + volume + "/" + entry.getKey())).as(what + " recorded SHA-256").isEqualTo(sha);
          compared++;
        }
      }
    }
    assertThat(compared).isGreaterThanOrEqualTo(30);
  }

  static Map<String, Path> tree(Path root) throws IOException {
    Map<String, Path> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(p -> !p.equals(root)).forEach(p -> out.put(root.relativize(p).toString(), p));
    }
    return out;
  }

  static Object attr(Path p, String name) throws IOException {
    return Files.getAttribute(p, name, LinkOption.NOFOLLOW_LINKS);
  }

  static long seconds(Path p) throws IOException {
    return ((FileTime) attr(p, "lastModifiedTime")).toMillis() / 1000;
  }

  static String sha256(Path p) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(p)) {
      byte[] b = new byte[1 << 16];
      for (int n = in.read(b); n >= 0; n = in.read(b)) {
        md.update(b, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
