package io.mkebackup.worker.freeze;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import io.mkebackup.common.Threads;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.SelfContainer;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * deadline, whichever comes first, then unpauses the containers it was told of, and exits.
 *
 * <p>It is armed (running, and said so on its output) before the first pause, knowing of no
 * container yet. It learns each one over its standard input, as the freeze's record does (see
 * {@link Freezer}): {@value #PAUSING}{@code <id>} just before that container's pause is asked,
 * and {@value #NOT_PAUSED}{@code <id>} when the pause did not happen (someone else had paused it,
 * which is theirs to unpause); it answers each line ({@value #NOTED}{@code <line>}) before the
 * backup goes on, so it always knows of every container the backup may have paused, and of none
 * that someone else paused before the backup's own pause. Its arguments are the Docker host, the
 * backup's container id and the deadline: nothing secret, and no id of what it may unpause.
 *
 * <p>When the backup thaws by itself it removes the sibling, so that it never unpauses what
 * someone else pauses later. Should the backup fail to unpause, it signals the sibling (SIGHUP)
 * to try now.
 */
public final class SiblingSwitch implements FreezeGuard {
  private static final Logger LOG = Logger.getLogger(SiblingSwitch.class.getName());
  /** The CLI's hidden command that the sibling runs: {@code <docker host> <backup's container> <deadline ms>}. */
  public static final String COMMAND = "freeze-switch";
  /** Label on the sibling; its value is the id of the container whose freeze it guards. */
  public static final String LABEL = "io.mkebackup.freeze-switch";
  /** A line to the sibling: the container with this id is about to be paused by the backup. */
  static final String PAUSING = "pausing ";
  /** A line to the sibling: the pause of the container with this id, told before, did not happen. */
  static final String NOT_PAUSED = "not-paused ";
  /** The sibling's answer to a line it took into account: this, then the line. */
  static final String NOTED = "noted ";
  /** The sibling's answer to a line it did not take into account (it is thawing, or the line is bad). */
  static final String REFUSED = "refused ";
  /** Keeps the sibling's JVM small: it only waits and, maybe, unpauses. */
  static final String JAVA_OPTIONS = "JAVA_TOOL_OPTIONS=-Xmx48m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
  /**
   * How long the backup waits for the sibling to answer a line before it gives up the pause, at
   * most: once the freeze has started, the wait is also bounded by what is left of its maximum.
   */
  static final long ANSWER_SECONDS = 30;
  private static final String CONTAINER_ID = "[0-9a-f]{12,64}";
  /** Put in the answers' queue when the sibling's output ends. */
  private static final String ENDED = "";

  private final DockerEngine docker;
  private final String id;
  private final String name;
  private final SocketChannel stream;
  private final BlockingQueue<String> answers;

  private SiblingSwitch(DockerEngine docker, String id, String name, SocketChannel stream,
      BlockingQueue<String> answers) {
    this.docker = docker;
    this.id = id;
    this.name = name;
    this.stream = stream;
    this.answers = answers;
  }

  /** Whether a sibling can reach the engine: through a Unix socket, which is bind-mounted into it. */
  static boolean possible(String dockerHost) {
    return dockerHost.startsWith("unix://");
  }

  /**
   * Starts the sibling and waits until it says it is armed. It knows of no container to unpause
   * until told ({@link #pausing}).
   *
   * @param self the container this process runs in: the sibling waits on it
   * @param deadlineMillis from now: when it thaws even if the backup's container runs on
   * @throws IOException when it cannot be started or does not say it is armed within 60 s (nothing
   *     is left of it then)
   */
  static SiblingSwitch arm(String dockerHost, SelfContainer self, long deadlineMillis) throws IOException {
    String socket = URI.create(dockerHost).getPath();
    String name = "mke-backup-freeze-switch-" + UUID.randomUUID().toString().substring(0, 8);
    DockerEngine docker = null;
    String id = null;
    SocketChannel stream = null;
    try {
      docker = DockerEngine.connect(dockerHost);
      removeStale(docker);
      List<String> command = List.of(COMMAND, dockerHost, self.id(), String.valueOf(deadlineMillis));
      id = docker.createSibling(self.id(), name, command,
          Map.of(self.hostPath(Path.of(socket)), socket),
          Map.of(LABEL, self.id()),
          List.of(JAVA_OPTIONS));
      // Attached before it starts: its stdin is open for this attach only, and nothing it says is missed.
      stream = DockerEngine.attachStreams(socket, id);
      CountDownLatch armed = new CountDownLatch(1);
      CountDownLatch ended = new CountDownLatch(1);
      BlockingQueue<String> answers = new LinkedBlockingQueue<>();
      InputStream in = Channels.newInputStream(stream);
      String n = name;
      Threads.start("mke-backup-switch-output", () -> {
        try {
          readLines(in, line -> {
            if (line.equals(DeadMansSwitch.READY)) {
              armed.countDown();
            } else if (line.startsWith(NOTED) || line.startsWith(REFUSED)) {
              answers.add(line);
            } else if (!line.startsWith("Picked up JAVA_TOOL_OPTIONS")) {
              LOG.info(outputLine(n, line));
            }
          });
        } catch (IOException closed) {
          // disarmed: the stream was closed under the reader
        }
        answers.add(ENDED);
        ended.countDown();
      });
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
      LOG.info("dead man's switch armed: container " + name + " unpauses what this backup pauses should container "
          + self.name() + " stop, or in " + deadlineMillis / 1000.0 + " s at the latest");
      return new SiblingSwitch(docker, id, name, stream, answers);
    } catch (IOException | RuntimeException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (docker != null) {
        if (id != null) {
          remove(docker, id);
        }
        docker.close();
      }
      closeQuietly(stream);
      throw new IOException("the dead man's switch (container " + name + ", of this container's image, that unpauses"
          + " should this container be killed) could not be started: " + e.getMessage() + "; nothing was paused", e);
    }
  }

  /** The container with this id is about to be paused: returns once the sibling knows. */
  @Override
  public void pausing(String containerId, Duration within) throws IOException {
    tell(PAUSING + containerId, within);
  }

  /** The pause of that container did not happen: returns once the sibling no longer counts it. */
  @Override
  public void notPaused(String containerId, Duration within) throws IOException {
    tell(NOT_PAUSED + containerId, within);
  }

  /**
   * One line to the sibling, and its answer: the line is only in the sibling's hands once it says
   * so (what this process writes may still be in a buffer of the engine's when it dies).
   */
  private synchronized void tell(String line, Duration within) throws IOException {
    ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
    long start = System.nanoTime();
    // Rounded up: a wait cut short by the freeze's maximum lasts until that maximum is used up.
    long waitMillis = Math.max(0, Math.min(TimeUnit.SECONDS.toMillis(ANSWER_SECONDS),
        within.plusNanos(999_999).toMillis()));
    try {
      while (b.hasRemaining()) {
        stream.write(b);
      }
      String answer = answers.poll(waitMillis, TimeUnit.MILLISECONDS);
      if (answer == null) {
        throw new IOException("the dead man's switch (container " + name + ") did not answer '" + line + "' within "
            + waitMillis + " ms");
      }
      if (!answer.equals(NOTED + line)) {
        throw new IOException("the dead man's switch (container " + name + ") answered '" + line + "' with '"
            + (answer.equals(ENDED) ? "(its end)" : answer) + "'");
      }
      // The round trip (through the engine, both ways) comes before each pause: the second
      // writer's is inside the freeze.
      LOG.fine(() -> "dead man's switch (container " + name + ") noted '" + line + "' in "
          + (System.nanoTime() - start) / 1_000_000 + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while telling the dead man's switch (container " + name + ") '" + line + "'",
          e);
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
    remove(docker, id);
    closeQuietly(stream);
    docker.close();
  }

  /** The backup could not thaw: the sibling tries now (SIGHUP), and at its deadline at the latest. */
  @Override
  public void abandon() {
    try {
      docker.signal(id, "HUP");
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot signal the dead man's switch container " + name + "; it unpauses at its deadline", e);
    }
    closeQuietly(stream);
    docker.close();
  }

  /**
   * A line the switch's container wrote, as this process logs it: escaped and cut, since the
   * container's output is not ours to trust (a control character could forge a log line).
   */
  static String outputLine(String container, String line) {
    return "dead man's switch (container " + container + "): "
        + io.mkebackup.common.io.FileNames.printable(line, 1000);
  }

  /**
   * A container's output as the engine sends it to an attach without a terminal, frame by frame
   * (an 8-byte header: the stream, then the length): each line of stdout and stderr, until its end.
   */
  static void readLines(InputStream in, Consumer<String> lines) throws IOException {
    StringBuilder[] partial = {new StringBuilder(), new StringBuilder()};
    byte[] header = new byte[8];
    while (in.readNBytes(header, 0, 8) == 8) {
      StringBuilder b = partial[header[0] == 2 ? 1 : 0];
      long size = ((header[4] & 0xffL) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8)
          | (header[7] & 0xff);
      byte[] payload = in.readNBytes((int) Math.min(size, Integer.MAX_VALUE));
      for (char c : new String(payload, StandardCharsets.UTF_8).toCharArray()) {
        if (c == '\n') {
          lines.accept(b.toString());
          b.setLength(0);
        } else if (b.length() < 4096) {
          b.append(c);
        }
      }
      if (payload.length < size) {
        return;
      }
    }
  }

  /**
   * The sibling's side: {@code <docker host> <backup's container id> <deadline ms from now>}, and
   * on {@code in} the containers to unpause ({@value #PAUSING}{@code <id>}, {@value #NOT_PAUSED}{@code
   * <id>}), each line answered on {@code out}. Says {@code armed} on {@code out}, waits for the
   * backup's container to stop (or to be gone) or for the deadline or a SIGHUP, then unpauses
   * those of the containers it was told of that are paused. The end of {@code in} does not thaw:
   * the wait on the container says whether the backup's process ended.
   *
   * @return the exit code: 0 when every unpause went through, 1 otherwise, 2 for bad arguments
   */
  public static int run(List<String> args, InputStream in, PrintStream out) throws InterruptedException {
    if (args.size() != 3 || !args.get(1).matches(CONTAINER_ID) || !args.get(2).matches("\\d{1,12}")) {
      out.println("usage: " + COMMAND + " <docker host> <container id> <deadline ms>, and on stdin " + PAUSING.strip()
          + " or " + NOT_PAUSED.strip() + " <container id>, one a line");
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
    Told told = new Told();
    Threads.start("mke-backup-switch-input", () -> told.read(in, out));
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
      List<String> left = told.thawing();
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

  /**
   * What the sibling was told: the containers the backup may have paused, in the order told. Once
   * it thaws, it takes no more lines: a backup still running then is refused its next pause.
   */
  static final class Told {
    private final Set<String> ids = new LinkedHashSet<>();
    private boolean thawing;

    /** Reads lines until the end of {@code in}, answering each on {@code out}. */
    void read(InputStream in, PrintStream out) {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          String answer = take(line) ? NOTED : REFUSED;
          synchronized (out) {
            out.println(answer + line);
            out.flush();
          }
        }
      } catch (IOException e) {
        // the backup's attach is gone: the same as its end
      }
    }

    /** Whether the line was taken into account. */
    synchronized boolean take(String line) {
      if (thawing) {
        return false;
      }
      if (line.startsWith(PAUSING) && line.substring(PAUSING.length()).matches(CONTAINER_ID)) {
        ids.add(line.substring(PAUSING.length()));
        return true;
      }
      if (line.startsWith(NOT_PAUSED) && line.substring(NOT_PAUSED.length()).matches(CONTAINER_ID)) {
        ids.remove(line.substring(NOT_PAUSED.length()));
        return true;
      }
      return false;
    }

    /** The containers to unpause; from now on nothing more is taken. */
    synchronized List<String> thawing() {
      thawing = true;
      return new ArrayList<>(ids);
    }
  }
}
