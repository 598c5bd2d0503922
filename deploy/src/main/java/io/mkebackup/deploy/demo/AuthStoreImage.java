package io.mkebackup.deploy.demo;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The demo's ucp-auth-store image: a crash-safe database under a steady write load, standing in for
 * MKE's RethinkDB (which no registry here serves). Debian's {@code sqlite3} and the libraries it
 * links, with {@code busybox-static} for the shell loop, {@code FROM scratch}, built by the local
 * engine. The database ({@code auth.db}) is in WAL mode with {@code synchronous=FULL}; each
 * transaction inserts a pair of rows (txn, half 1 and 2, the writer's clock in ms, a random blob)
 * and drops the oldest pair, so a copy is whole exactly when every txn has both halves. It
 * checkpoints every 64 pages (a few transactions), writing pages in place in the database file
 * all the time, as RethinkDB does.
 */
final class AuthStoreImage {
  static final String REPOSITORY = "mke-backup-demo-auth-store";
  /** The database file in the data volume. */
  static final String DATABASE = "auth.db";
  /** The value of {@link DemoState#LABEL} on the image. */
  static final String IMAGE_LABEL = "auth-store-image";

  /**
   * Arguments: the data directory, the pairs seeded into a new database (and kept), the bytes of
   * each row's blob, the pause between transactions in microseconds.
   */
  static final String SCRIPT = """
      cd "$1" || exit 1
      SEED=$2; ROW=$3; PAUSE=$4
      B=/bin/busybox
      NOW="CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
      /usr/bin/sqlite3 auth.db "PRAGMA journal_mode=WAL;" >/dev/null || exit 1
      /usr/bin/sqlite3 auth.db "PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS pairs(txn INTEGER NOT NULL,\
       half INTEGER NOT NULL, at_ms INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (txn, half));" || exit 1
      if [ "$(/usr/bin/sqlite3 auth.db 'SELECT count(*) FROM pairs;')" = 0 ]; then
        /usr/bin/sqlite3 auth.db "PRAGMA synchronous=FULL; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1\
       FROM n WHERE i < $SEED) INSERT INTO pairs SELECT i, h, $NOW, randomblob($ROW) FROM n, (SELECT 1 AS h UNION ALL\
       SELECT 2);" || exit 1
      fi
      echo "auth store: writing a pair every $PAUSE us"
      {
        echo "PRAGMA synchronous=FULL;"
        echo "PRAGMA busy_timeout=60000;"
        echo "PRAGMA wal_autocheckpoint=64;"
        while :; do
          echo "BEGIN IMMEDIATE; INSERT INTO pairs SELECT max(txn) + 1, 1, $NOW, randomblob($ROW) FROM pairs;\
       INSERT INTO pairs SELECT max(txn), 2, $NOW, randomblob($ROW) FROM pairs;\
       DELETE FROM pairs WHERE txn <= (SELECT max(txn) FROM pairs) - $SEED; COMMIT;"
          $B usleep "$PAUSE"
        done
      } | /usr/bin/sqlite3 auth.db
      """;

  private AuthStoreImage() {}

  /**
   * The image's tag (named after the script and sqlite3's bytes), built first when missing. Without
   * sqlite3 or a static busybox here (demo-state in the product's own container, FROM scratch), an
   * image this demo built beforehand and loaded into the engine is used, as {@link EtcdImage} does.
   */
  static String ensure(DockerClient docker, java.io.PrintWriter out) throws IOException {
    Path sqlite;
    Path busybox = Path.of("/bin/busybox");
    try {
      sqlite = EtcdImage.binary("sqlite3", "apt-get install sqlite3");
      if (!Files.isExecutable(busybox) || !EtcdImage.libraries(busybox).isEmpty()) {
        throw new BackupException(ErrorCode.INTERNAL, "demo-state runs the auth store's shell with a static busybox"
            + " but finds none at /bin/busybox; install it (apt-get install busybox-static) or run"
            + " deploy/prereqs.sh");
      }
    } catch (BackupException cannotBuild) {
      String built = EtcdImage.existing(docker, IMAGE_LABEL, REPOSITORY);
      if (built == null) {
        throw cannotBuild;
      }
      out.println("no sqlite3 and static busybox here to build the auth store's image from: using image " + built
          + ", built beforehand");
      return built;
    }
    String tag = REPOSITORY + ":" + tag(sqlite);
    try {
      docker.inspectImageCmd(tag).exec();
      return tag;
    } catch (NotFoundException missing) {
      // built below
    }
    File context = File.createTempFile("mke-demo-auth-store-", ".tar");
    try {
      try (OutputStream os = Files.newOutputStream(context.toPath());
          TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        bytes(tar, "Dockerfile", ("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/bin/busybox\", \"sh\", \"/writer.sh\"]\n")
            .getBytes(StandardCharsets.UTF_8), 0644);
        bytes(tar, "rootfs/writer.sh", SCRIPT.getBytes(StandardCharsets.UTF_8), 0755);
        TarArchiveEntry tmp = new TarArchiveEntry("rootfs/tmp/");
        tmp.setMode(01777);
        tar.putArchiveEntry(tmp);
        tar.closeArchiveEntry();
        EtcdImage.add(tar, busybox, "rootfs/bin/busybox");
        EtcdImage.add(tar, sqlite, "rootfs/usr/bin/sqlite3");
        for (String lib : EtcdImage.libraries(sqlite)) {
          EtcdImage.add(tar, Path.of(lib), "rootfs" + lib);
        }
      }
      try (InputStream in = Files.newInputStream(context.toPath())) {
        docker.buildImageCmd(in).withTags(Set.of(tag)).withPull(false).withRemove(true)
            .withLabels(Map.of(DemoState.LABEL, IMAGE_LABEL))
            .exec(new BuildImageResultCallback()).awaitImageId(5, TimeUnit.MINUTES);
      }
    } finally {
      Files.deleteIfExists(context.toPath());
    }
    out.println("built image " + tag + " from " + sqlite + " and " + busybox);
    return tag;
  }

  private static String tag(Path sqlite) throws IOException {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(SCRIPT.getBytes(StandardCharsets.UTF_8));
      d.update(Files.readAllBytes(sqlite.toRealPath()));
      return HexFormat.of().formatHex(d.digest()).substring(0, 12);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void bytes(TarArchiveOutputStream tar, String name, byte[] content, int mode) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(content.length);
    e.setMode(mode);
    tar.putArchiveEntry(e);
    tar.write(content);
    tar.closeArchiveEntry();
  }
}
