package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.gateway.auth.Passwords;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code mke-backup hash-password}: a BCrypt hash for the configuration's users, from stdin. */
@Command(name = "hash-password", mixinStandardHelpOptions = true,
    description = "Reads a password from the first line of stdin and prints its BCrypt hash, for adminPasswordHash"
        + " or a user's passwordHash in the manager's configuration.")
public final class HashPasswordCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    if (line == null || line.isEmpty()) {
      throw BackupException.invalid("stdin", "give the password on the first line of stdin");
    }
    spec.commandLine().getOut().println(Passwords.hash(line.toCharArray()));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
