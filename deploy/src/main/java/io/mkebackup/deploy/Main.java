package io.mkebackup.deploy;

import io.mkebackup.deploy.cli.MkeBackupCommand;
import picocli.CommandLine;

/** The application's entry point: the mke-backup CLI. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Refuse TLS 1.2 renegotiation a client starts (a denial-of-service lever; the JDK accepts it by
    // default). Read once, when the first TLS handshake loads the JDK's server code: set before.
    System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
    // Vert.x would otherwise configure java.util.logging itself (and undo ours) on first use.
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    // Before anything touches java.util.logging: whose manager it makes (see Logging.KeepToTheEnd).
    System.setProperty("java.util.logging.manager", "io.mkebackup.deploy.Logging$KeepToTheEnd");
    Logging.cli(false);
    System.exit(MkeBackupCommand.commandLine().execute(args));
  }
}
