package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.worker.restore.RestoreProcedure;
import io.mkebackup.worker.restore.SiblingRestore;
import io.mkebackup.worker.source.SelfContainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
        "In a container given only the Docker socket (docker container run --rm -i -v",
        "/var/run/docker.sock:/var/run/docker.sock mke-backup restore ... < backup.tar), it runs through a sibling",
        "container of the same image. Progress on stderr, one line per step; a failure leaves every volume as it was."})
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

  @Option(names = "--relayed", hidden = true, description = "run by a restore in a container that cannot see the"
      + " volumes, in a sibling container that can: stdin carries the passphrase's line (unless --no-passphrase),"
      + " then the archive; the last line on stdout is the exit code")
  boolean relayed;

  @Option(names = "--archive-bytes", hidden = true, defaultValue = "-1", description = "(--relayed) the archive's"
      + " size, -1 when unknown")
  long archiveBytes;

  @Option(names = "--archive-label", hidden = true, defaultValue = "stdin", description = "(--relayed) the"
      + " archive's name, recorded on the volumes created")
  String archiveLabel;

  @Override
  public Integer call() throws IOException {
    PrintWriter err = spec.commandLine().getErr();
    if (relayed) {
      return relayed(err);
    }
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
      String label = file == null ? "stdin" : String.valueOf(file.getFileName());
      Optional<SelfContainer> self = SiblingRestore.needed(dockerHost);
      if (self.isPresent()) {
        // In a container given only the Docker socket (as MKE runs its restore): through the engine.
        return SiblingRestore.run(dockerHost, self.get(), siblingArgs(size, label, p == null),
            p == null ? null : p.utf8(), archive, line -> {
              err.println(line);
              err.flush();
            });
      }
      return restore(archive, size, label, p, err);
    }
  }

  private int restore(InputStream archive, long size, String label, Passphrase p, PrintWriter err) throws IOException {
    RestoreProcedure procedure = new RestoreProcedure(new RestoreProcedure.Options(dockerHost, volumePrefix, force, dryRun,
        etcdName(), etcdPeerUrl, keepSetid), line -> {
          err.println(line);
          err.flush();
        });
    RestoreProcedure.Report r = procedure.run(archive, size, label, p);
    if (!dryRun) {
      err.println("OK: restored " + r.volumes().size() + " volumes from a " + r.productVersion() + " backup"
          + (r.etcd() ? "; start etcd on the restored ucp-kv (its data directory is datav3)" : ""));
      err.flush();
    }
    return 0;
  }

  private String etcdName() {
    return etcdName == null ? volumePrefix + "ucp-kv" : etcdName;
  }

  /** The options of the sibling's restore: this one's, none of them secret. */
  private List<String> siblingArgs(long size, String label, boolean plain) {
    List<String> args = new ArrayList<>(List.of("--volume-prefix=" + volumePrefix, "--etcd-name=" + etcdName(),
        "--etcd-peer-url=" + etcdPeerUrl, "--archive-bytes=" + size, "--archive-label=" + label));
    if (plain) {
      args.add("--no-passphrase");
    }
    if (force) {
      args.add("--force");
    }
    if (dryRun) {
      args.add("--dry-run");
    }
    if (keepSetid) {
      args.add("--keep-setid");
    }
    return args;
  }

  /**
   * The sibling's side: the passphrase's line and the archive on stdin; progress and the error
   * line on stderr as usual, then the exit code as the last line on stdout for the restore that
   * relays it.
   */
  private int relayed(PrintWriter err) {
    int code;
    try (Passphrase p = noPassphrase ? null : Passphrases.fromOption("-", System.in)) {
      code = restore(System.in, archiveBytes, archiveLabel, p, err);
    } catch (Exception e) {
      err.println("mke-backup: error: " + MkeBackupCommand.oneLine(e));
      code = MkeBackupCommand.exitCode(e);
    }
    err.flush();
    System.out.println(SiblingRestore.EXIT_LINE + code);
    System.out.flush();
    return code;
  }
}
