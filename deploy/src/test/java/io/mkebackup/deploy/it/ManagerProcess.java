package io.mkebackup.deploy.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One `mke-backup manager` in a JVM of its own, as an operator runs it: environment in, log out. */
final class ManagerProcess implements AutoCloseable {
  final String node;
  /** The address this manager binds (HTTPS, Hazelcast, event bus). */
  final String host;
  final int httpsPort;
  final int clusterPort;
  final Path dataDir;
  final Path log;
  private final Map<String, String> env;
  private Process process;
  private int starts;

  ManagerProcess(String node, int httpsPort, int clusterPort, Path dataDir, Map<String, String> env) {
    this(node, "127.0.0.1", httpsPort, clusterPort, dataDir, env);
  }

  ManagerProcess(String node, String host, int httpsPort, int clusterPort, Path dataDir, Map<String, String> env) {
    this.node = node;
    this.host = host;
    this.httpsPort = httpsPort;
    this.clusterPort = clusterPort;
    this.dataDir = dataDir;
    this.log = dataDir.resolveSibling(node + ".log");
    this.env = env;
  }

  /** Starts the JVM; its stdout and stderr are appended to {@link #log}. */
  ManagerProcess start() throws IOException {
    List<String> cmd = new ArrayList<>(ProductJvm.java());
    cmd.add("-Xmx256m");
    cmd.add("-jar");
    cmd.add(Cli.JAR.toAbsolutePath().toString());
    cmd.add("manager");
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("MKE_"));
    pb.environment().putAll(env);
    pb.environment().put("MKE_BACKUP_NODE_NAME", node);
    pb.environment().put("MKE_BACKUP_HTTPS_PORT", String.valueOf(httpsPort));
    pb.environment().put("MKE_BACKUP_CLUSTER_PORT", String.valueOf(clusterPort));
    pb.environment().put("MKE_BACKUP_DATA_DIR", dataDir.toString());
    pb.environment().put("MKE_BACKUP_BIND_ADDRESS", host);
    Files.createDirectories(dataDir);
    process = pb.start();
    starts++;
    return this;
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  long pid() {
    return process.pid();
  }

  /** SIGKILL: no shutdown hook, no goodbye to the cluster. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /**
   * SIGSTOP, as a long GC pause or a stalled VM would: the JVM keeps its sockets and its state but
   * runs no instruction until {@link #resume()}. Returns once the kernel reports it stopped.
   */
  void pause() throws IOException, InterruptedException {
    signal("STOP");
    org.awaitility.Awaitility.await("manager " + node + " stopped").atMost(java.time.Duration.ofSeconds(10))
        .pollInterval(java.time.Duration.ofMillis(20)).until(() -> state() == 'T');
  }

  /** SIGTERM, without waiting: the manager's own stop, as Docker or systemd asks for it. */
  void terminate() throws IOException, InterruptedException {
    signal("TERM");
  }

  /** SIGCONT. */
  void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  /** The process state letter of /proc/<pid>/stat (R, S, T, ...). */
  char state() throws IOException {
    String stat = Files.readString(Path.of("/proc", String.valueOf(pid()), "stat"));
    return stat.charAt(stat.lastIndexOf(')') + 2);
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid())).inheritIO().start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
    }
  }

  /** SIGTERM and wait: a clean leave. */
  void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      try {
        resume(); // a paused JVM would not hear SIGTERM
      } catch (IOException | RuntimeException ignored) {
        // it ends below either way
      }
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
