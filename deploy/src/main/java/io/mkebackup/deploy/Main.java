package io.mkebackup.deploy;

import io.mkebackup.deploy.cli.MkeBackupCommand;
import picocli.CommandLine;

/** The application's entry point: the mke-backup CLI. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Vert.x would otherwise configure java.util.logging itself (and undo ours) on first use.
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    Logging.cli(false);
    System.exit(MkeBackupCommand.commandLine().execute(args));
  }
}
