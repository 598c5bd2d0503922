package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressEvent.Kind;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.deploy.Logging;
import io.mkebackup.worker.backup.BackupProcedure;
import io.mkebackup.worker.backup.BackupRequest;
import io.mkebackup.worker.backup.BackupResult;
import io.mkebackup.worker.run.BackupRun;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code mke-backup backup}: one archive of this manager, to a file or to stdout. */
@Command(name = "backup", mixinStandardHelpOptions = true,
    description = {"Backs up this MKE manager: every ucp-* volume (but ucp-metrics-data and ucp-node-certs),",
        "an etcd snapshot of ucp-kv and the ucp-* container configurations, as one tar, encrypted with",
        "OpenPGP (AES-256) unless --no-passphrase. Progress goes to stderr, one line per step."})
public final class BackupCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  BackupConfigOptions configOptions;

  @Option(names = "--file", paramLabel = "PATH",
      description = "write the archive here (atomically, mode 0600) instead of to stdout")
  Path file;

  @Option(names = "--passphrase", paramLabel = "P", description = "encryption passphrase, 12 or more characters;"
      + " '-' reads it from the first line of stdin (a value here shows in ps: prefer --passphrase-file)")
  String passphrase;

  @Option(names = "--passphrase-file", paramLabel = "FILE", description = "read the passphrase from the first line"
      + " of FILE ('-': stdin)")
  Path passphraseFile;

  @Option(names = "--no-passphrase", description = "write an unencrypted archive")
  boolean noPassphrase;

  @Option(names = "--include-logs", arity = "0..1", fallbackValue = "true", defaultValue = "false",
      paramLabel = "true|false", description = "write the run's log beside the archive (<name>.log), encrypted"
          + " like it; needs --file")
  boolean includeLogs;

  @Option(names = "--jsonlog", description = "progress as JSON lines")
  boolean jsonLog;

  @Option(names = "--debug", description = "also print periodic byte counts and stack traces")
  boolean debug;

  @Option(names = "--cluster-members", paramLabel = "HOST:PORT", split = ",",
      defaultValue = "${env:MKE_BACKUP_CLUSTER_MEMBERS}",
      description = "the backup cluster's managers (Hazelcast host:port); when given, this backup takes the"
          + " cluster's backup lock and is recorded in its catalog, so no other backup runs meanwhile"
          + " (env MKE_BACKUP_CLUSTER_MEMBERS)")
  List<String> clusterMembers;

  @Option(names = "--cluster-name", paramLabel = "NAME", defaultValue = "${env:MKE_BACKUP_CLUSTER_NAME:-mke-backup}",
      description = "the backup cluster's name (default: ${DEFAULT-VALUE}; env MKE_BACKUP_CLUSTER_NAME)")
  String clusterName;

  @Option(names = "--cluster-secret-file", paramLabel = "FILE", defaultValue = "${env:MKE_BACKUP_CLUSTER_SECRET_FILE}",
      description = "the file holding the backup cluster's secret, as the managers' clusterSecretFile; without it"
          + " the secret is derived from this MKE manager's cluster root CA (env MKE_BACKUP_CLUSTER_SECRET_FILE)")
  Path clusterSecretFile;

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    Passphrases.requireOne(passphrase, passphraseFile, noPassphrase, "a passphrase is required: give"
        + " --passphrase-file FILE (12 or more characters), --passphrase - to read it from stdin, or --no-passphrase"
        + " for an unencrypted archive");
    if (includeLogs && file == null) {
      throw BackupException.invalid("--include-logs", "--include-logs needs --file: the log is written beside the"
          + " archive (when streaming to stdout, the log is this command's stderr)");
    }
    if (file == null && Terminal.stdoutIsTerminal()) {
      throw BackupException.invalid("--file", "refusing to write a binary archive to a terminal; redirect stdout"
          + " (> backup.tar) or give --file");
    }
    if (file != null && file.getFileName() == null) {
      throw BackupException.invalid("--file", "--file must name a file");
    }
    var container = InContainer.detect(configOptions.dockerHost);
    if (container.isPresent()) {
      if (file != null) {
        file = InContainer.target(file, container.get());
      }
      if (configOptions.node == null || configOptions.node.isBlank()) {
        // The container's host name is its id; the manager node is what the record should name.
        configOptions.node = InContainer.engineNodeName(configOptions.dockerHost);
      }
    }
    if (file != null) {
      file = realDirectory(file);
    }
    Path logFile = includeLogs ? logFileFor(file) : null;
    String id = UUID.randomUUID().toString();
    OutputStream stdout = file == null ? new FileOutputStream(FileDescriptor.out) : null;
    try (Passphrase p = Passphrases.open(passphrase, passphraseFile, System.in, err);
        ClusterLease cluster = ClusterLease.join(clusterMembers, clusterName, clusterSecretFile, configOptions.toConfig())) {
      if (debug) {
        Logging.cli(true);
      }
      BackupRun.Outcome outcome = cluster.run(id, p != null, file, logFile, (fence, events) ->
          new BackupProcedure(configOptions.toConfig(), fence)
              .run(new BackupRequest(id, p, file, stdout, logFile, "--file"), printer(err)));
      if (outcome.failure() instanceof RuntimeException e) {
        throw e;
      } else if (outcome.failure() instanceof Error e) {
        throw e;
      } else if (outcome.failure() != null) {
        throw new IllegalStateException(outcome.failure());
      }
      BackupResult result = outcome.result();
      if (!outcome.recorded()) {
        err.println("mke-backup: warning: the cluster had already marked this backup FAILED (this process was"
            + " paused or cut off from the managers); its record stays FAILED");
      }
      if (result.logFile() != null) {
        err.println(jsonLog ? "{\"log\":\"" + result.logFile() + "\"}" : "log written to " + result.logFile());
      }
      err.flush();
      return 0;
    } catch (BackupException e) {
      if (debug) {
        e.printStackTrace(err);
      }
      throw e;
    }
  }

  /** backup1.tar -> backup1.log, beside it. */
  /**
   * The file in its directory's real path, the links in it resolved once, here: what is written
   * to the directory is then written relative to it, opened without following links (a link
   * swapped in later leads nowhere). A directory that does not exist is left for the write to name.
   */
  static Path realDirectory(Path file) {
    Path dir = file.toAbsolutePath().getParent();
    try {
      return dir.toRealPath().resolve(file.getFileName());
    } catch (java.io.IOException e) {
      return file.toAbsolutePath();
    }
  }

  static Path logFileFor(Path archive) {
    String name = archive.getFileName().toString();
    String base = name.endsWith(".tar") ? name.substring(0, name.length() - 4)
        : name.endsWith(".tar.gpg") ? name.substring(0, name.length() - 8) : name;
    return archive.resolveSibling(base + ".log");
  }

  private ProgressListener printer(PrintWriter err) {
    return (ProgressEvent e) -> {
      if (e.kind() == Kind.FAILED && !jsonLog) {
        return; // printed once, by the command's error handler, as "mke-backup: error: ..."
      }
      if ((e.kind() == Kind.PROGRESS || e.kind() == Kind.STARTED) && !debug) {
        return;
      }
      err.println(jsonLog ? ProgressFormat.json(e) : ProgressFormat.text(e));
      err.flush();
    };
  }
}
