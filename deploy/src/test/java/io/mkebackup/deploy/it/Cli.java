package io.mkebackup.deploy.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the built CLI jar as users do: a separate JVM, stdin, stdout, stderr and an exit code. */
final class Cli {
  static final Path JAR = Path.of(System.getProperty("mke.backup.jar", "target/mke-backup.jar"));

  record Result(int exit, String stderr, Path stdout) {
    String out() {
      try {
        return Files.readString(stdout);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  static Result run(List<String> jvmOptions, List<String> args, String stdin, Path stdout) throws IOException,
      InterruptedException {
    return runAs(List.of(), jvmOptions, args, stdin, stdout);
  }

  static Result run(List<String> args) throws IOException, InterruptedException {
    return run(List.of(), args, null, Scratch.file("cli-out-", ".bin"));
  }

  /** @param wrapper a command put before java, such as setpriv to run as another user */
  static Result runAs(List<String> wrapper, List<String> jvmOptions, List<String> args, String stdin, Path stdout)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(wrapper);
    cmd.addAll(ProductJvm.java());
    cmd.addAll(jvmOptions);
    cmd.add("-jar");
    cmd.add(JAR.toAbsolutePath().toString());
    cmd.addAll(args);
    Path err = Scratch.file("cli-err-", ".txt");
    Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(err.toFile()).start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException("CLI did not finish: " + cmd);
    }
    String stderr = Files.readString(err);
    Files.delete(err);
    return new Result(p.exitValue(), stderr, stdout);
  }

  /**
   * As {@link #run(List)}, with stdin read from a file (null: none) and the environment changed: a
   * null value removes the variable (such as LANG, to run without a locale).
   */
  static Result run(List<String> args, Path stdin, java.util.Map<String, String> env) throws IOException,
      InterruptedException {
    List<String> cmd = new ArrayList<>(ProductJvm.java());
    cmd.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
    cmd.addAll(args);
    Path out = Scratch.file("cli-out-", ".bin");
    Path err = Scratch.file("cli-err-", ".txt");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    if (stdin != null) {
      pb.redirectInput(stdin.toFile());
    }
    env.forEach((k, v) -> {
      if (v == null) {
        pb.environment().remove(k);
      } else {
        pb.environment().put(k, v);
      }
    });
    Process p = pb.start();
    if (stdin == null) {
      p.getOutputStream().close();
    }
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException("CLI did not finish: " + cmd);
    }
    String stderr = Files.readString(err);
    Files.delete(err);
    return new Result(p.exitValue(), stderr, out);
  }
}
