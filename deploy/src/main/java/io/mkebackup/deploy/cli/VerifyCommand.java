package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.worker.pipeline.ArchiveVerifier;
import io.mkebackup.worker.pipeline.VerifyReport;
import io.mkebackup.worker.pipeline.openpgp.PgpDecryption;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code mke-backup verify}: proves an archive whole, or says in one line why it is not. */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Proves a backup whole: decrypts it (integrity packet checked), reads every entry, checks each",
        "file's SHA-256 against the archive's metadata, the etcd snapshot's SHA-256 trailer, 27 or more",
        "entries and ./ucp-controller-server-certs/key.pem, and refuses what would make a restore leave its volumes.",
        "A --passphrase for an archive that is not encrypted is an error. PATH '-' reads stdin."})
public final class VerifyCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "PATH", description = "the archive, or - for stdin")
  String path;

  @Option(names = "--passphrase", paramLabel = "P", description = "the archive's passphrase; '-' reads it from stdin"
      + " (a value here shows in ps: prefer --passphrase-file)")
  String passphrase;

  @Option(names = "--passphrase-file", paramLabel = "FILE", description = "read the passphrase from the first line"
      + " of FILE ('-': stdin)")
  Path passphraseFile;

  @Override
  public Integer call() throws IOException {
    if (passphrase != null && passphraseFile != null) {
      throw BackupException.invalid("--passphrase", "--passphrase and --passphrase-file exclude each other; give one");
    }
    if ("-".equals(path) && Passphrases.fromStdin(passphrase, passphraseFile)) {
      throw BackupException.invalid("--passphrase", "stdin cannot carry both the archive and the passphrase");
    }
    PrintWriter out = spec.commandLine().getOut();
    try (Passphrase p = Passphrases.open(passphrase, passphraseFile, System.in, spec.commandLine().getErr());
        InputStream raw = new java.io.BufferedInputStream(open(path), 1 << 16)) {
      boolean armored = PgpDecryption.isArmored(raw);
      InputStream in = PgpDecryption.dearmored(raw);
      String cipher = PgpDecryption.cipher(in);
      VerifyReport r = ArchiveVerifier.verify(in, p, "--passphrase");
      out.printf("OK %s: %s, %d entries (%d files, %s), etcd snapshot %s, product %s, node %s, created %s%n",
          path, (r.encrypted() ? "encrypted (OpenPGP " + (cipher == null ? "" : cipher + ", ")
              + "integrity packet checked)" : "not encrypted") + (armored ? ", ASCII-armored" : ""),
          r.entries(), r.files(), ProgressFormat.bytes(r.bytes()),
          r.snapshotEntry() == null ? "absent" : r.snapshotEntry() + " (" + ProgressFormat.bytes(r.snapshotBytes())
              + ", SHA-256 trailer checked)",
          // These come from the archive, which anyone may have made: no terminal escapes get through.
          shown(r.productVersion()), shown(r.metadata().node()), shown(r.metadata().createdAt()));
      out.flush();
      return 0;
    }
  }

  private static InputStream open(String path) {
    if ("-".equals(path)) {
      return System.in;
    }
    try {
      return Files.newInputStream(Path.of(path));
    } catch (NoSuchFileException e) {
      throw new BackupException(ErrorCode.TARGET_NOT_FOUND, "PATH", path + " does not exist", e);
    } catch (AccessDeniedException e) {
      throw new BackupException(ErrorCode.TARGET_NOT_WRITABLE, "PATH", path + " is not readable by this user", e);
    } catch (IOException e) {
      throw new BackupException(ErrorCode.INTERNAL, "PATH", "cannot open " + path + ": " + e.getMessage(), e);
    }
  }

  private static String shown(Object fromArchive) {
    return fromArchive == null ? "null" : FileNames.printable(String.valueOf(fromArchive), 200);
  }
}
