package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.worker.restore.RestoreEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code mke-backup restore}: recreates this manager's MKE state from an archive. */
@Command(name = "restore", mixinStandardHelpOptions = true,
    description = {"Restores an MKE manager's state from a backup: reads the archive once, checking every entry and",
        "staging it beside its volume, and only once the whole archive is verified swaps the new contents into the",
        "volumes (bytes, modes, owners, mtimes, links) and restores ucp-kv from the etcd snapshot with etcdctl.",
        "Refuses a different major.minor version and non-empty volumes (unless --force), and any archive that would",
        "write outside its volumes. Writes through the volumes' mountpoints: run it as root on the manager, with",
        "MKE's containers stopped: a volume a running container mounts is refused (exit 2), whatever --force says.",
        "Progress on stderr, one line per step; a failure leaves every volume as it was."})
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

  @Option(names = "--no-passphrase", description = "the archive is not encrypted (so not authenticated: restore it"
      + " only if you trust the file)")
  boolean noPassphrase;

  @Option(names = "--force", description = "restore a different major.minor version, or into non-empty volumes"
      + " (replacing their contents)")
  boolean force;

  @Option(names = "--keep-setid", description = "restore files that have setuid or setgid bits (an archive holding any is refused otherwise)")
  boolean keepSetid;

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
    try (Passphrase p = Passphrases.open(passphrase, passphraseFile, System.in, spec.commandLine().getErr());
        // FileInputStream, not a channel: a FIFO or a process substitution cannot seek.
        InputStream archive = file == null ? System.in : new java.io.FileInputStream(file.toFile())) {
      // Read once, as it streams: the bytes restored are the bytes verified, whatever happens to
      // the file meanwhile. Its size (unknown on stdin) bounds the space staging needs.
      long size = file != null && Files.isRegularFile(file) ? Files.size(file) : -1;
      RestoreEngine engine = new RestoreEngine(new RestoreEngine.Options(dockerHost, volumePrefix, force, dryRun,
          etcdName == null ? volumePrefix + "ucp-kv" : etcdName, etcdPeerUrl, keepSetid), line -> {
            err.println(line);
            err.flush();
          });
      RestoreEngine.Report r = engine.run(archive, size, file == null ? "stdin" : String.valueOf(file.getFileName()), p);
      if (!dryRun) {
        err.println("OK: restored " + r.volumes().size() + " volumes from a " + r.productVersion() + " backup"
            + (r.etcd() ? "; start etcd on the restored ucp-kv (its data directory is datav3)" : ""));
        err.flush();
      }
      return 0;
    }
  }
}
