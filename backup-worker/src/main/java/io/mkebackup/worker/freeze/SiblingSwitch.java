package io.mkebackup.worker.freeze;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import io.mkebackup.common.Threads;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.SelfContainer;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The dead man's switch of a backup that runs in a container, as the seed runs it ({@code docker
 * container run --rm ... --volume /var/run/docker.sock:/var/run/docker.sock IMAGE backup ...}):
 * {@code docker kill} of that container ends every process in it, a {@link DeadMansSwitch} child
 * included, and would leave the paused containers paused for good. So the switch runs beside it:
 * a container of the same image, started through the same Docker socket (the same host path
 * bind-mounted), removed by the engine when it exits, that runs the CLI's hidden {@value #COMMAND}
 * command: it waits on the backup's container ({@code POST /containers/{id}/wait}) or on its
 * deadline, whichever comes first, then unpauses the containers named in its arguments (ids, not
 * secrets: nothing secret is in its arguments or environment) and exits.
 *
 * <p>It is armed (running, and said so on its output) before the first pause; when the backup
 * thaws by itself it removes the sibling, so that it never unpauses what someone else pauses
 * later. Should the backup fail to unpause, it signals the sibling (SIGHUP) to try now.
 */
public final class SiblingSwitch implements FreezeGuard {
  private static final Logger LOG = Logger.getLogger(SiblingSwitch.class.getName());
  /** The CLI's hidden command that the sibling runs: {@code <docker host> <backup's container> <deadline ms> <id>...}. */
  public static final String COMMAND = "freeze-switch";
  /** Label on the sibling; its value is the id of the container whose freeze it guards. */
  public static final String LABEL = "io.mkebackup.freeze-switch";
  /** Keeps the sibling's JVM small: it only waits and, maybe, unpauses. */
  static final String JAVA_OPTIONS = "JAVA_TOOL_OPTIONS=-Xmx48m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";

  private final DockerEngine docker;
  private final String dockerHost;
  private final SelfContainer self;
  private final String id;
  private final String name;
  private final Closeable output;
  private final long deadlineNanos;

  private SiblingSwitch(DockerEngine docker, String dockerHost, SelfContainer self, String id, String name,
      Closeable output, long deadlineNanos) {
    this.docker = docker;
    this.dockerHost = dockerHost;
    this.self = self;
    this.id = id;
    this.name = name;
    this.output = output;
    this.deadlineNanos = deadlineNanos;
  }

  /** Whether a sibling can reach the engine: through a Unix socket, which is bind-mounted into it. */
  static boolean possible(String dockerHost) {
    return dockerHost.startsWith("unix://");
  }

  /**
   * Starts the sibling and waits until it says it is armed.
   *
   * @param self the container this process runs in: the sibling waits on it
   * @param containerIds those the freeze is about to pause
   * @param deadlineMillis from now: when it thaws even if the backup's container runs on
   * @throws IOException when it cannot be started or does not say it is armed within 60 s (nothing
   *     is left of it then)
   */
  static SiblingSwitch arm(String dockerHost, SelfContainer self, List<String> containerIds, long deadlineMillis)
      throws IOException {
    long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMillis);
    String socket = URI.create(dockerHost).getPath();
    String name = "mke-backup-freeze-switch-" + UUID.randomUUID().toString().substring(0, 8);
    DockerEngine docker = null;
    String id = null;
    Closeable output = null;
    try {
      docker = DockerEngine.connect(dockerHost);
      removeStale(docker);
      List<String> command = new ArrayList<>(List.of(COMMAND, dockerHost, self.id(), String.valueOf(deadlineMillis)));
      command.addAll(containerIds);
      id = docker.createSibling(self.id(), name, command,
          Map.of(docker.bindSource(self.id(), socket).orElseThrow(() -> new IOException("the Docker socket " + socket
              + " is in no mount of this container, so its path on the host is unknown")), socket),
          Map.of(LABEL, self.id()),
          List.of(JAVA_OPTIONS));
      CountDownLatch armed = new CountDownLatch(1);
      CountDownLatch ended = new CountDownLatch(1);
      String n = name;
      output = docker.followOutput(id, line -> {
        if (line.equals(DeadMansSwitch.READY)) {
          armed.countDown();
        } else if (!line.startsWith("Picked up JAVA_TOOL_OPTIONS")) {
          LOG.info("dead man's switch (container " + n + "): " + line);
        }
      }, ended::countDown);
      docker.startContainer(id);
      long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!armed.await(100, TimeUnit.MILLISECONDS)) {
        if (ended.getCount() == 0 && !armed.await(1, TimeUnit.SECONDS)) {
          throw new IOException("it ended without arming");
        }
        if (System.nanoTime() > waitUntil) {
          throw new IOException("it did not say it was armed within 60 s");
        }
      }
      LOG.info("dead man's switch armed: container " + name + " unpauses " + containerIds.size() + " container(s)"
          + " should container " + self.name() + " stop, or in " + deadlineMillis / 1000.0 + " s at the latest");
      return new SiblingSwitch(docker, dockerHost, self, id, name, output, deadlineNanos);
    } catch (IOException | RuntimeException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      closeQuietly(output);
      if (docker != null) {
        if (id != null) {
          remove(docker, id);
        }
        docker.close();
      }
      throw new IOException("the dead man's switch (container " + name + ", of this container's image, that unpauses"
          + " should this container be killed) could not be started: " + e.getMessage() + "; nothing was paused", e);
    }
  }

  /**
   * Siblings created but never started: their backup's container was killed in between (or is
   * gone). One whose backup's container runs is another backup's, about to start it.
   */
  private static void removeStale(DockerEngine docker) {
    docker.labelValues(LABEL, "created").forEach((stale, parent) -> {
      if (parent.isEmpty() || !docker.running(parent)) {
        remove(docker, stale);
      }
    });
  }

  private static void remove(DockerEngine docker, String id) {
    try {
      // Killed first; the image's VOLUME gave it an anonymous volume, which goes with it (the
      // engine's own removal at exit does the same).
      docker.removeContainerAndAnonymousVolumes(id);
    } catch (ConflictException alreadyGoing) {
      // it exited and the engine is removing it (--rm)
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot remove the dead man's switch container " + id, e);
    }
  }

  private static void closeQuietly(Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException | RuntimeException ignored) {
        // the attach is gone already
      }
    }
  }

  /** The backup thawed: the sibling is removed (killed first) without touching anything. */
  @Override
  public void disarm() {
    closeQuietly(output);
    remove(docker, id);
    docker.close();
  }

  /** The backup could not thaw: the sibling tries now (SIGHUP), and at its deadline at the latest. */
  @Override
  public void abandon() {
    closeQuietly(output);
    try {
      docker.signal(id, "HUP");
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot signal the dead man's switch container " + name + "; it unpauses at its deadline", e);
    }
    docker.close();
  }

  /** A sibling for exactly {@code pausedIds}, with what is left of this one's deadline; this one is removed. */
  @Override
  public FreezeGuard narrowTo(List<String> pausedIds) throws IOException {
    long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
    SiblingSwitch narrower = arm(dockerHost, self, pausedIds, left);
    disarm();
    return narrower;
  }

  /**
   * The sibling's side: {@code <docker host> <backup's container id> <deadline ms from now> <id>...}.
   * Says {@code armed} on {@code out}, waits for the backup's container to stop (or to be gone)
   * or for the deadline or a SIGHUP, then unpauses those of the ids that are paused.
   *
   * @return the exit code: 0 when every unpause went through, 1 otherwise, 2 for bad arguments
   */
  public static int run(List<String> args, PrintStream out) throws InterruptedException {
    if (args.size() < 3 || !args.get(1).matches("[0-9a-f]{12,64}") || !args.get(2).matches("\\d{1,12}")
        || !args.subList(3, args.size()).stream().allMatch(a -> a.matches("[0-9a-f]{12,64}"))) {
      out.println("usage: " + COMMAND + " <docker host> <container id> <deadline ms> <container id>...");
      return 2;
    }
    CountDownLatch now = new CountDownLatch(1);
    String[] why = {"the freeze reached its deadline"};
    // SIGINT and SIGTERM (a stop aimed at the wrong container) are not the backup's end; SIGHUP is
    // the backup asking for the thaw now.
    for (String sig : List.of("INT", "TERM", "HUP")) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(sig), sig.equals("HUP") ? s -> {
          why[0] = "the backup could not unpause";
          now.countDown();
        } : sun.misc.SignalHandler.SIG_IGN);
      } catch (IllegalArgumentException unsupported) {
        // not on this platform
      }
    }
    String parent = args.get(1);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args.get(2)));
    String shortId = parent.substring(0, 12);
    try (DockerEngine docker = DockerEngine.connect(args.get(0))) {
      Thread waiter = Threads.start("mke-backup-switch-wait", () -> {
        while (System.nanoTime() < deadline) {
          try {
            int code = docker.awaitStop(parent);
            why[0] = "the backup's container " + shortId + " stopped (exit " + code + ")";
            break;
          } catch (NotFoundException gone) {
            why[0] = "the backup's container " + shortId + " is gone";
            break;
          } catch (RuntimeException e) {
            // The engine's answer broke off (dockerd restarted, say): ask again.
            LOG.log(Level.WARNING, "waiting on container " + shortId + " failed; waiting again", e);
            try {
              Thread.sleep(1_000);
            } catch (InterruptedException stop) {
              return;
            }
          }
        }
        now.countDown();
      });
      out.println(DeadMansSwitch.READY);
      out.flush();
      now.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      List<String> thawed = new ArrayList<>();
      // Nothing else thaws these once the backup's container is gone (its record went with it):
      // a failed unpause (a dockerd busy right after the kill) is tried again, for ten minutes.
      List<String> left = new ArrayList<>(args.subList(3, args.size()));
      long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      for (long pause = 500; ; pause = Math.min(pause * 2, 15_000)) {
        for (java.util.Iterator<String> it = left.iterator(); it.hasNext(); ) {
          String id = it.next();
          try {
            if (docker.unpause(id)) {
              thawed.add(id.substring(0, 12));
            }
            it.remove();
          } catch (RuntimeException e) {
            out.println("cannot unpause " + id.substring(0, 12) + " (trying again): " + e.getMessage());
          }
        }
        if (left.isEmpty() || System.nanoTime() - giveUp > 0) {
          break;
        }
        Thread.sleep(pause);
      }
      out.println(why[0] + "; unpaused " + thawed + (left.isEmpty() ? "" : "; still paused " + left));
      out.flush();
      return left.isEmpty() ? 0 : 1;
    }
  }
}
