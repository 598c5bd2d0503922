package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.ProductInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code mke-backup}: back up, verify, and create the demo MKE state. */
@Command(name = "mke-backup", mixinStandardHelpOptions = true,
    versionProvider = MkeBackupCommand.Version.class,
    description = "Backs up the control plane of an MKE manager into one verified, gpg-readable archive.",
    subcommands = {BackupCommand.class, VerifyCommand.class, RestoreCommand.class, DemoStateCommand.class, ManagerCommand.class,
        HashPasswordCommand.class, FreezeSwitchCommand.class})
public final class MkeBackupCommand {
  /** Exit code of a backup or verification that failed. */
  public static final int FAILED = 1;
  /** Exit code of bad input (picocli's usage code too), and of a restore into volumes running containers use. */
  public static final int USAGE = 2;

  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new MkeBackupCommand());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println("mke-backup: error: " + oneLine(e));
      return exitCode(e);
    });
    return cl;
  }

  /** The exit code of a command that failed with {@code e}: bad input and volumes in use are the user's to fix. */
  static int exitCode(Throwable e) {
    return e instanceof BackupException be && (be.code() == ErrorCode.INVALID_FIELD
        || be.code() == ErrorCode.VOLUME_IN_USE) ? USAGE : FAILED;
  }

  /** The message a user sees: the error's own for ours, the type and message otherwise. */
  static String oneLine(Throwable e) {
    if (e instanceof BackupException) {
      return e.getMessage();
    }
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {ProductInfo.NAME + " " + ProductInfo.version()};
    }
  }
}
