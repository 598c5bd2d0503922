package io.mkebackup.worker.freeze;

import io.mkebackup.common.Threads;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Pauses the running containers that write a volume (the cgroup freezer, {@code docker pause}) for
 * the copy of that volume only, so the copy is one instant's image of the files, as after a power
 * cut, which a crash-safe database opens; and makes sure they run again on every path:
 * <ul>
 *   <li>the freeze's {@link Freeze#close()} unpauses (success, failure, cancellation, lease loss);
 *   <li>past the longest freeze allowed, a timer of the freeze unpauses and the copy fails;
 *   <li>a dead man's switch started before the pause unpauses should this process die (kill -9) or
 *       hang: a {@link DeadMansSwitch} child process, or, when this process runs in a container of
 *       the engine (whose kill would end that child too), a {@link SiblingSwitch} container;
 *   <li>a record of what was paused ({@code frozen-<run>.<n>} in the private spool root: the Docker
 *       engine, then each container this tool paused, written before its pause and rewritten
 *       without it if the pause did not happen) lets the next start of the CLI or a manager, and
 *       the manager's reaper, unpause what a dead run left paused on that engine ({@link #recover}).
 * </ul>
 * Only containers this tool paused are ever unpaused: one found paused already (someone paused it
 * on purpose) is left alone, and is frozen anyway.
 */
public final class Freezer {
  private static final Logger LOG = Logger.getLogger(Freezer.class.getName());
  /** Names of the records in the spool root. */
  static final String RECORD_PREFIX = "frozen-";
  /**
   * {@code off}: copy live volumes without pausing anything (tests show what that gives);
   * {@code whole}: copy such a volume entirely while paused (no staging, a longer freeze); else a
   * volume read from disk is staged first and only what changed is read while paused.
   */
  public static final String SWITCH_ENV = "MKE_BACKUP_FREEZE";
  /** The first line of a record: the Docker engine its containers are on. */
  static final String HOST = "host ";
  /** The dead man's switch thaws this long after the freeze's own deadline. */
  static final long SWITCH_MARGIN_MILLIS = 5_000;

  private final ContainerEngine docker;
  private final String dockerHost;
  private final Path spoolRoot;
  private final Path run;
  /** Arms the switch of one freeze (its record, its deadline from now); null: no switch. */
  private final Arming arming;
  private int sequence;

  /** How a freeze gets its dead man's switch: {@link #armSwitch} but in tests of the freezer alone. */
  interface Arming {
    FreezeGuard arm(Path record, long deadlineMillis) throws IOException;
  }

  /**
   * @param spoolRoot the private spool root, where the records are kept
   * @param run this run's spool directory (in the root): a record is a dead run's once its lock is free
   * @param deadMansSwitch whether a switch process guards each freeze (tests of the switch itself
   *     and of a process that cannot start one turn it off)
   */
  public Freezer(ContainerEngine docker, String dockerHost, Path spoolRoot, Path run, boolean deadMansSwitch) {
    this.docker = docker;
    this.dockerHost = dockerHost;
    this.spoolRoot = spoolRoot;
    this.run = run;
    this.arming = deadMansSwitch ? this::armSwitch : null;
  }

  /** A freezer whose freezes are guarded by what {@code arming} gives (tests of what a switch is told). */
  Freezer(ContainerEngine docker, String dockerHost, Path spoolRoot, Path run, Arming arming) {
    this.docker = docker;
    this.dockerHost = dockerHost;
    this.spoolRoot = spoolRoot;
    this.run = run;
    this.arming = arming;
  }

  /** Whether volumes are copied frozen ({@value #SWITCH_ENV} is not {@code off}). */
  public static boolean enabled() {
    return !"off".equalsIgnoreCase(System.getenv(SWITCH_ENV));
  }

  /**
   * Whether a volume read from disk is staged before its writers are paused, so the freeze reads
   * only what changed ({@value #SWITCH_ENV} is not {@code whole}).
   */
  public static boolean staged() {
    return !"whole".equalsIgnoreCase(System.getenv(SWITCH_ENV));
  }

  /** The running, unpaused containers that mount a volume read-write: those a frozen copy pauses. */
  public static List<Mounter> writers(List<Mounter> mounters) {
    return mounters.stream().filter(m -> m.readWrite() && m.running() && !m.paused()).toList();
  }

  /**
   * Pauses {@code writers}, recorded first and guarded by a dead man's switch; {@code max} after
   * the first pause, the freeze thaws by itself and {@link Freeze#expired()} says so.
   */
  public Freeze freeze(List<Mounter> writers, Duration max) throws IOException {
    Path record = spoolRoot.resolve(RECORD_PREFIX + run.getFileName() + "." + (++sequence));
    writeRecord(record, dockerHost, List.of());
    FreezeGuard sw = null;
    // The switch counts its deadline from its own start, after this: the freeze ends a second
    // before it, so that the switch never thaws a copy in progress unnoticed.
    long switchDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(max.toMillis() + SWITCH_MARGIN_MILLIS
        - 1_000);
    try {
      if (arming != null) {
        sw = arming.arm(record, max.toMillis() + SWITCH_MARGIN_MILLIS);
      }
    } catch (IOException e) {
      Files.deleteIfExists(record);
      throw e;
    }
    Freeze f = new Freeze(record, sw, max, sw == null ? Long.MAX_VALUE : switchDeadlineNanos);
    try {
      f.pauseAll(writers);
    } catch (RuntimeException | IOException e) {
      f.close();
      throw e;
    }
    return f;
  }

  /**
   * The switch for one freeze: in a container of this engine (the seed's container form, or a
   * manager run as a container), a sibling container, which outlives a kill of this one; else a
   * child process.
   */
  private FreezeGuard armSwitch(Path record, long deadlineMillis) throws IOException {
    var self = docker.self();
    if (self.isPresent()) {
      if (SiblingSwitch.possible(dockerHost)) {
        return SiblingSwitch.arm(dockerHost, self.get(), deadlineMillis);
      }
      // A sibling would need the engine's address and credentials: it reaches the engine only
      // through the socket bind-mounted into it.
      LOG.warning("this backup runs in container " + self.get().name() + " but reaches Docker at " + dockerHost
          + ", not through a socket: its dead man's switch runs in this container, so should the container be"
          + " killed, what it paused stays paused until the next backup from this spool directory");
    }
    return DeadMansSwitch.arm(dockerHost, record, deadlineMillis);
  }

  /** One freeze: the containers this tool paused, until {@link #close()}. */
  public final class Freeze implements AutoCloseable {
    private final Path record;
    private final FreezeGuard sw;
    private final Duration max;
    /** A second before the switch's own deadline (Long.MAX_VALUE without a switch). */
    private final long switchDeadlineNanos;
    private final List<Mounter> paused = new ArrayList<>();
    private final List<String> alreadyPaused = new ArrayList<>();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Object closeLock = new Object();
    private boolean closed;
    private long startNanos;
    private long endNanos;
    private volatile boolean expired;
    private boolean thawFailed;
    private Thread timer;

    private Freeze(Path record, FreezeGuard sw, Duration max, long switchDeadlineNanos) {
      this.record = record;
      this.sw = sw;
      this.max = max;
      this.switchDeadlineNanos = switchDeadlineNanos;
    }

    /**
     * Pauses each writer, the record and the switch knowing of it first (should this process die
     * right after the pause, the switch and the next start unpause it) and no more if the pause
     * did not happen: they name only containers this tool paused, never one someone else paused
     * meanwhile, which is theirs to unpause. A switch that cannot be told stops the freeze before
     * that pause. Once the first pause is done, the maximum counts: the switch's answer is waited
     * for no longer than what is left of it, and no pause is asked once it is used up. A pause
     * itself is not bounded (the engine's call); one that outlasts the maximum is caught by the
     * timer, which then has nothing left and thaws at once, the freeze said expired.
     */
    private void pauseAll(List<Mounter> writers) throws IOException {
      for (Mounter m : writers) {
        Duration left = left();
        if (left.toMillis() == 0) {
          throw tooLong(m);
        }
        List<Mounter> with = new ArrayList<>(paused);
        with.add(m);
        writeRecord(record, dockerHost, with);
        if (sw != null) {
          try {
            sw.pausing(m.id(), left);
          } catch (IOException e) {
            writeRecord(record, dockerHost, paused);
            if (left().toMillis() == 0) {
              throw tooLong(m); // the switch's answer was waited for as long as the maximum allowed
            }
            throw new IOException("cannot pause " + m.name() + ": " + e.getMessage(), e);
          }
        }
        try {
          docker.pause(m.id());
          // The freeze starts when the first pause returns (runc answers once the cgroup is
          // frozen), not when it is asked: under load dockerd takes 100 ms and more to get there,
          // time the container still runs, and a freeze of a few hundred ms would be overstated by half.
          markPaused(m);
        } catch (com.github.dockerjava.api.exception.ConflictException | com.github.dockerjava.api.exception.NotFoundException e) {
          // paused by someone else meanwhile (frozen anyway, and theirs to unpause), or gone
          LOG.info("container " + m.name() + " was paused by someone else (or is gone) before this backup's pause: "
              + "copied as it is, and left for them to unpause");
          alreadyPaused.add(m.name());
          writeRecord(record, dockerHost, paused);
          if (sw != null) {
            sw.notPaused(m.id(), left()); // else the freeze fails and its close removes the switch, and with it the id
          }
        } catch (RuntimeException e) {
          // Any other failure (the engine answered 500, or the call timed out) leaves the pause's
          // outcome unknown: it may have happened. The container stays in the record and in what
          // the switch knows, and counts as paused by this freeze, whose close (the freeze fails)
          // unpauses it, which does nothing if it was not paused; should that fail too, the switch
          // and the next start unpause it.
          LOG.warning("pausing container " + m.name() + " failed (" + e.getMessage() + "): it may be paused all the"
              + " same, so it is unpaused with the others");
          markPaused(m);
          throw e;
        }
      }
      synchronized (this) {
        if (paused.isEmpty()) {
          startNanos = System.nanoTime();
        }
      }
      long timeLeft = left().toNanos();
      timer = Threads.start("mke-backup-freeze-timer", () -> {
        try {
          if (!closing.await(timeLeft, TimeUnit.NANOSECONDS)) {
            expired = true;
            thaw();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }

    /**
     * What is left of the maximum once the first pause returned (the maximum less the time since);
     * never past a second before the switch's deadline, which also bounds the time before the first
     * pause; zero once past either.
     */
    private synchronized Duration left() {
      long now = System.nanoTime();
      long left = paused.isEmpty() ? Long.MAX_VALUE : max.toNanos() - (now - startNanos);
      if (switchDeadlineNanos != Long.MAX_VALUE) {
        left = Math.min(left, switchDeadlineNanos - now);
      }
      return Duration.ofNanos(Math.max(0, left));
    }

    /** {@code m} counts as paused by this freeze; the first one starts its clock. */
    private synchronized void markPaused(Mounter m) {
      if (paused.isEmpty()) {
        startNanos = System.nanoTime();
      }
      paused.add(m);
    }

    /** The maximum was used up before {@code next} could be paused: the backup's error names it. */
    private IOException tooLong(Mounter next) {
      return new IOException(new io.mkebackup.common.BackupException(io.mkebackup.common.ErrorCode.FREEZE_TOO_LONG,
          "maxFreezeSeconds", "pausing the writers reached maxFreezeSeconds (" + max.toMillis() / 1000.0 + " s) before "
          + next.name() + " could be paused; the containers paused so far are being unpaused and the backup stopped;"
          + " the older backup file is left in place. Raise maxFreezeSeconds (--max-freeze)", null));
    }

    /** The names of the containers this freeze paused. */
    public synchronized List<String> containers() {
      return paused.stream().map(Mounter::name).toList();
    }

    /** Those found paused by someone else (left paused). */
    public List<String> alreadyPaused() {
      return List.copyOf(alreadyPaused);
    }

    /** Whether the freeze outlived its maximum and was thawed by its timer. */
    public boolean expired() {
      return expired;
    }

    /**
     * Seconds frozen: from the return of the first pause to that of the last unpause (or until now
     * while frozen).
     */
    public synchronized double seconds() {
      long end = endNanos != 0 ? endNanos : System.nanoTime();
      return (end - startNanos) / 1e9;
    }

    /** Unpauses what it paused, once; the switch stays armed until every unpause went through. */
    private synchronized void thaw() {
      if (endNanos != 0) {
        return;
      }
      for (int i = paused.size() - 1; i >= 0; i--) {
        Mounter m = paused.get(i);
        try {
          docker.unpause(m.id());
        } catch (RuntimeException e) {
          thawFailed = true;
          LOG.log(Level.WARNING, "cannot unpause container " + m.name() + "; the dead man's switch will", e);
        }
      }
      endNanos = System.nanoTime();
    }

    /**
     * Thaws (if the timer did not), then disarms the switch and removes the record. Once: a copy
     * closes its freeze as soon as it is done and again on its way out, and a switch is disarmed
     * (its container removed, its engine client closed) only the first time. A second call returns
     * when the first has finished (its own lock: the timer thread thaws under this object's).
     */
    @Override
    public void close() {
      synchronized (closeLock) {
        if (!closed) {
          closed = true;
          closeOnce();
        }
      }
    }

    private void closeOnce() {
      closing.countDown();
      thaw();
      if (timer != null) {
        try {
          timer.join(10_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (thawFailed) {
        if (sw != null) {
          sw.abandon(); // it tries again, from the record
        }
        return;
      }
      try {
        Files.deleteIfExists(record);
      } catch (IOException e) {
        LOG.log(Level.WARNING, "cannot remove the freeze record " + record, e);
      }
      if (sw != null) {
        sw.disarm();
      }
    }
  }

  /**
   * The record of a freeze: {@code host <docker host>}, then {@code <id> <name>} per container
   * this tool paused (or is about to), replaced whole (write, fsync, rename).
   */
  private static void writeRecord(Path record, String host, List<Mounter> paused) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append(HOST).append(host).append('\n');
    for (Mounter m : paused) {
      b.append(m.id()).append(' ').append(m.name()).append('\n');
    }
    Path part = record.resolveSibling("." + record.getFileName() + ".part");
    Files.deleteIfExists(part);
    Files.createFile(part, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(part, b, StandardCharsets.UTF_8);
    try (var ch = java.nio.channels.FileChannel.open(part, java.nio.file.StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(part, record, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Unpauses the containers a record lists (those still paused) and removes the record.
   *
   * @return the names of those it unpaused
   */
  static List<String> thaw(Path record, ContainerEngine docker) {
    List<String> lines;
    try {
      lines = Files.readAllLines(record, StandardCharsets.UTF_8);
    } catch (NoSuchFileException gone) {
      return List.of(); // thawed already
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    if (!lines.isEmpty() && lines.get(0).startsWith(HOST) && !lines.get(0).substring(HOST.length()).equals(docker.host())) {
      // Another engine's containers (a run against another --docker-host): a run against that
      // engine unpauses them; unpausing ids here could hit an unrelated container.
      LOG.info("the freeze record " + record.getFileName() + " is for the Docker engine at "
          + lines.get(0).substring(HOST.length()) + ", not " + docker.host() + "; left for a run against it");
      return List.of();
    }
    List<String> thawed = new ArrayList<>();
    for (String line : lines) {
      if (line.startsWith(HOST)) {
        continue;
      }
      String[] f = line.split(" ", 2);
      if (f[0].matches("[0-9a-f]{12,64}") && docker.unpause(f[0])) {
        thawed.add(f.length > 1 ? f[1] : f[0]);
      }
    }
    try {
      Files.deleteIfExists(record);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return thawed;
  }

  /**
   * Unpauses what runs that died left paused: every record in {@code spoolRoot} whose run's spool
   * directory is no longer held by a live process.
   *
   * @return the names of the containers unpaused
   */
  public static List<String> recover(Path spoolRoot, ContainerEngine docker) {
    List<String> thawed = new ArrayList<>();
    try (DirectoryStream<Path> records = Files.newDirectoryStream(spoolRoot, RECORD_PREFIX + "*")) {
      for (Path r : records) {
        String name = r.getFileName().toString();
        String runName = name.substring(RECORD_PREFIX.length(), Math.max(RECORD_PREFIX.length(), name.lastIndexOf('.')));
        if (!Files.isRegularFile(r, LinkOption.NOFOLLOW_LINKS) || SpoolDirectory.live(spoolRoot.resolve(runName))) {
          continue;
        }
        List<String> t = thaw(r, docker);
        if (!t.isEmpty()) {
          LOG.warning("unpaused " + t + ", left paused by a backup that did not finish (" + runName + ")");
        }
        thawed.addAll(t);
      }
    } catch (NoSuchFileException none) {
      return thawed;
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot check for containers left paused by an earlier backup", e);
    }
    return thawed;
  }
}
