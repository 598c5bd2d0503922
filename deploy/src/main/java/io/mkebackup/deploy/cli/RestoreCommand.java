package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.worker.restore.RestoreEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code mke-backup restore}: recreates this manager's MKE state from an archive. */
@Command(name = "restore", mixinStandardHelpOptions = true,
    description = {"Restores an MKE manager's state from a backup: verifies the archive whole first, refuses a",
        "different major.minor version and non-empty volumes (unless --force), recreates every backed-up volume",
        "(bytes, modes, owners, mtimes, links) and restores ucp-kv from the etcd snapshot with etcdctl.",
        "Writes through the volumes' mountpoints: run it as root on the manager, with MKE's etcd stopped.",
        "Progress on stderr, one line per step; a failure removes the volumes it created."})
public final class RestoreCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--file", paramLabel = "PATH", description = "the archive (default: stdin)")
  Path file;

  @Option(names = "--passphrase", paramLabel = "P", description = "the archive's passphrase; '-' reads it from stdin")
  String passphrase;

  @Option(names = "--passphrase-file", paramLabel = "FILE", description = "read the passphrase from the first line"
      + " of FILE ('-': stdin)")
  Path passphraseFile;

  @Option(names = "--no-passphrase", description = "the archive is not encrypted")
  boolean noPassphrase;

  @Option(names = "--force", description = "restore a different major.minor version, or into non-empty volumes"
      + " (replacing their contents)")
  boolean force;

  @Option(names = "--dry-run", description = "verify and check everything, list what would be restored, write nothing")
  boolean dryRun;

  @Option(names = "--docker-host", paramLabel = "URL",
      defaultValue = "${env:MKE_BACKUP_DOCKER_HOST:-unix:///var/run/docker.sock}", description = "Docker engine")
  String dockerHost;

  @Option(names = "--volume-prefix", paramLabel = "PREFIX", defaultValue = "${env:MKE_BACKUP_VOLUME_PREFIX:-}",
      description = "prefix of the ucp-* volume names on the engine (default none)")
  String volumePrefix;

  @Option(names = "--etcd-name", paramLabel = "NAME", description = "etcd member name of the restored ucp-kv"
      + " (default: <prefix>ucp-kv)")
  String etcdName;

  @Option(names = "--etcd-peer-url", paramLabel = "URL", defaultValue = "http://127.0.0.1:12380",
      description = "peer URL the restored member advertises (default: ${DEFAULT-VALUE})")
  String etcdPeerUrl;

  @Override
  public Integer call() throws IOException {
    PrintWriter err = spec.commandLine().getErr();
    Passphrases.requireOne(passphrase, passphraseFile, noPassphrase, "give the archive's --passphrase-file FILE (or"
        + " --passphrase - to read it from stdin), or --no-passphrase for an unencrypted archive");
    if (file == null && Passphrases.fromStdin(passphrase, passphraseFile)) {
      throw BackupException.invalid("--passphrase", "stdin cannot carry both the archive and the passphrase; give --file");
    }
    if (file != null && !Files.isReadable(file)) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND, "--file", "--file " + file + " does not exist or is not"
          + " readable", null);
    }
    Path spool = Path.of(System.getProperty("java.io.tmpdir"));
    Path stdinCopy = null;
    try (Passphrase p = Passphrases.open(passphrase, passphraseFile, System.in, spec.commandLine().getErr())) {
      Path archive = file;
      if (archive == null) {
        // Restore reads the archive twice (verify, then write), so stdin is kept in a private file.
        stdinCopy = Files.createTempFile(spool, ".mke-restore-stdin-", ".part",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (InputStream in = System.in; OutputStream out = Files.newOutputStream(stdinCopy)) {
          in.transferTo(out);
        }
        archive = stdinCopy;
      }
      RestoreEngine engine = new RestoreEngine(new RestoreEngine.Options(dockerHost, volumePrefix, force, dryRun,
          etcdName == null ? volumePrefix + "ucp-kv" : etcdName, etcdPeerUrl, spool), line -> {
            err.println(line);
            err.flush();
          });
      RestoreEngine.Report r = engine.run(archive, p);
      if (!dryRun) {
        err.println("OK: restored " + r.volumes().size() + " volumes from a " + r.productVersion() + " backup"
            + (r.etcd() ? "; start etcd on the restored ucp-kv (its data directory is datav3)" : ""));
        err.flush();
      }
      return 0;
    } finally {
      if (stdinCopy != null) {
        Files.deleteIfExists(stdinCopy);
      }
    }
  }
}
