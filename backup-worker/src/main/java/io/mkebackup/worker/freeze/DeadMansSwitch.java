package io.mkebackup.worker.freeze;

import io.mkebackup.common.Threads;
import io.mkebackup.worker.source.DockerEngine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Thaws what a freeze paused should the process that paused it die (kill -9 included) or hang: a
 * small JVM of its own, started before the pause, that reads its parent's pipe. The parent writes
 * {@code done} once it has thawed the containers itself; on end of file without it (the parent
 * died) or at the deadline, this process unpauses the containers listed in the freeze's record
 * and deletes the record. It ignores SIGINT, SIGHUP and SIGTERM, which a terminal or a service
 * manager send to the whole group, and ends by itself at the deadline at the latest.
 *
 * <p>A process that runs in a container dies with it, and so would this child: a backup run in a
 * container is guarded by a {@link SiblingSwitch} instead.
 */
public final class DeadMansSwitch implements FreezeGuard, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DeadMansSwitch.class.getName());
  static final String READY = "armed";
  static final String DONE = "done";

  private final Process process;
  private final OutputStream toChild;

  private DeadMansSwitch(Process process) {
    this.process = process;
    this.toChild = process.getOutputStream();
  }

  /**
   * Starts the switch and waits until it is armed.
   *
   * @param deadlineMillis from now: when it thaws even if the parent lives
   * @throws IOException when it cannot be started or does not say it is armed within 60 s
   */
  public static DeadMansSwitch arm(String dockerHost, Path record, long deadlineMillis) throws IOException {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx48m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), DeadMansSwitch.class.getName(), dockerHost, record.toString(),
        String.valueOf(deadlineMillis)));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    DeadMansSwitch s = new DeadMansSwitch(p);
    CountDownLatch armed = new CountDownLatch(1);
    Thread reader = Threads.start("mke-backup-switch-output", () -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          if (line.equals(READY)) {
            armed.countDown();
          } else {
            LOG.info("dead man's switch: " + line);
          }
        }
      } catch (IOException ignored) {
        // it ended
      }
    });
    try {
      if (!armed.await(60, TimeUnit.SECONDS)) {
        s.abandon();
        p.destroyForcibly();
        throw new IOException("the dead man's switch (a JVM that unpauses should this process die) did not start within 60 s; nothing was paused");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while starting the dead man's switch", e);
    }
    return s;
  }

  /** The containers were thawed by their pauser: the switch ends without touching anything. */
  @Override
  public void disarm() {
    try {
      toChild.write((DONE + "\n").getBytes(StandardCharsets.US_ASCII));
      toChild.flush();
    } catch (IOException gone) {
      // it ended already
    }
    close();
  }

  /**
   * Nothing to do: this switch unpauses what the freeze's record lists, which the freezer
   * rewrites with the container before asking its pause.
   */
  @Override
  public void pausing(String containerId, java.time.Duration within) {}

  /** Nothing to do: the freezer rewrites the record without that container. */
  @Override
  public void notPaused(String containerId, java.time.Duration within) {}

  /** Leaves the thaw to the switch: it sees the end of its pipe and unpauses what the record lists. */
  @Override
  public void abandon() {
    close();
  }

  @Override
  public void close() {
    try {
      toChild.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  /** Waits a little for it to end (tests). */
  boolean awaitExit(long millis) throws InterruptedException {
    return process.waitFor(millis, TimeUnit.MILLISECONDS);
  }

  /** {@code <docker host> <record file> <deadline in ms from now>}. */
  public static void main(String[] args) throws Exception {
    for (String sig : List.of("INT", "HUP", "TERM")) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(sig), sun.misc.SignalHandler.SIG_IGN);
      } catch (IllegalArgumentException unsupported) {
        // not on this platform
      }
    }
    String host = args[0];
    Path record = Path.of(args[1]);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args[2]));
    CountDownLatch ended = new CountDownLatch(1);
    boolean[] done = {false};
    Thread reader = Threads.start("mke-backup-switch-input", () -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII))) {
        String line = r.readLine();
        done[0] = DONE.equals(line);
      } catch (IOException e) {
        // the parent is gone
      }
      ended.countDown();
    });
    System.out.println(READY);
    System.out.flush();
    boolean told = ended.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    if (told && done[0]) {
      return;
    }
    String why = told ? "the backup process ended without thawing" : "the freeze reached its deadline";
    try (DockerEngine docker = DockerEngine.connect(host)) {
      List<String> thawed = Freezer.thaw(record, docker);
      System.out.println(why + "; unpaused " + thawed);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, why + " and unpausing failed", e);
      System.out.println(why + " and unpausing failed: " + e.getMessage());
      System.exit(1);
    }
    System.exit(0);
  }
}
