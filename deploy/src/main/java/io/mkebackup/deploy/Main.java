package io.mkebackup.deploy;

import io.mkebackup.deploy.cli.MkeBackupCommand;
import picocli.CommandLine;

/** The application's entry point: the mke-backup CLI. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(MkeBackupCommand.commandLine().execute(args));
  }
}
