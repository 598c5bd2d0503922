package io.mkebackup.worker.freeze;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import io.mkebackup.worker.source.DockerEngine;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The freezer against a fake engine at the ContainerEngine seam (the real one: LiveAuthStoreIT). */
class FreezerTest {
  static final String A = "a".repeat(64);
  static final String B = "b".repeat(64);

  /** Keeps which containers are paused; pausing a paused one is a conflict, as dockerd says. */
  static final class Engine implements ContainerEngine {
    final Set<String> paused = new HashSet<>();
    final List<String> calls = new ArrayList<>();
    /** Run at each pause, before it happens (a check of what the switch and the record know then). */
    Runnable beforePause = () -> {};
    /** The pause of this container fails with a server error: after it happened when {@link #failAfter}. */
    String failing = "";
    boolean failAfter;

    @Override
    public synchronized void pause(String id) {
      beforePause.run();
      calls.add("pause " + id);
      if (id.equals(failing) && !failAfter) {
        throw new com.github.dockerjava.api.exception.InternalServerErrorException("engine failed");
      }
      if (!paused.add(id)) {
        throw new com.github.dockerjava.api.exception.ConflictException("Container " + id + " is already paused");
      }
      if (id.equals(failing)) {
        throw new com.github.dockerjava.api.exception.InternalServerErrorException("timed out after pausing");
      }
    }

    @Override
    public synchronized boolean unpause(String id) {
      calls.add("unpause " + id);
      return paused.remove(id);
    }

    synchronized boolean isPaused(String id) {
      return paused.contains(id);
    }

    @Override
    public String host() {
      return "fake";
    }

    @Override
    public String version() {
      return "0";
    }

    @Override
    public List<DockerEngine.VolumeInfo> ucpVolumes(String prefix) {
      return List.of();
    }

    @Override
    public List<DockerEngine.ContainerConfig> ucpContainers(String prefix) {
      return List.of();
    }

    @Override
    public String createHelper(String image, String name, List<String> volumeNames, Set<String> apart,
        Map<String, String> labels) {
      throw new UnsupportedOperationException();
    }

    @Override
    public InputStream archive(String containerId, String path) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void removeContainer(String id) {}

    @Override
    public void close() {}
  }

  static Mounter writer(String id) {
    return new Mounter(id, "c-" + id.charAt(0), true, true, false);
  }

  @Test
  void onlyRunningReadWriteUnpausedMountersAreWriters() {
    List<Mounter> all = List.of(writer(A), new Mounter(B, "ro", false, true, false),
        new Mounter(B, "stopped", true, false, false), new Mounter(B, "theirs", true, true, true));
    assertThat(Freezer.writers(all)).containsExactly(writer(A));
  }

  @Test
  void aFreezePausesItsWritersAndCloseUnpausesThemAndRemovesTheRecord(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Path run = Files.createDirectory(root.resolve("run-1"));
    Freezer freezer = new Freezer(engine, "fake", root, run, false);
    try (Freezer.Freeze f = freezer.freeze(List.of(writer(A), writer(B)), Duration.ofSeconds(30))) {
      assertThat(engine.isPaused(A)).isTrue();
      assertThat(engine.isPaused(B)).isTrue();
      assertThat(Files.readAllLines(root.resolve("frozen-run-1.1"))).containsExactly("host fake", A + " c-a", B + " c-b");
      assertThat(f.containers()).containsExactly("c-a", "c-b");
    }
    assertThat(engine.paused).isEmpty();
    assertThat(root.resolve("frozen-run-1.1")).doesNotExist();
  }

  @Test
  void aContainerSomeoneElsePausedIsNeverUnpaused(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    engine.paused.add(B); // paused between the listing and our pause
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")), false);
    try (Freezer.Freeze f = freezer.freeze(List.of(writer(A), writer(B)), Duration.ofSeconds(30))) {
      assertThat(f.alreadyPaused()).containsExactly("c-b");
      assertThat(f.containers()).containsExactly("c-a");
      // Should this process die now, the switch and the next start unpause what the record
      // lists: the container this freeze paused, on this engine, and not the other one.
      assertThat(Files.readAllLines(root.resolve("frozen-run-1.1"))).containsExactly("host fake", A + " c-a");
    }
    assertThat(engine.paused).containsExactly(B);
    assertThat(engine.calls).doesNotContain("unpause " + B);
  }

  /** A switch that keeps what it was told, in the engine's list of calls too. */
  static final class Guard implements FreezeGuard {
    final Engine engine;
    final Set<String> wouldUnpause = new java.util.LinkedHashSet<>();
    String refuse = "";
    /** Answers about this container only after this long, or not at all when it is longer than allowed. */
    String slow = "";
    Duration slowBy = Duration.ZERO;
    final Map<String, Duration> allowed = new java.util.HashMap<>();
    boolean disarmed;
    int disarms;

    Guard(Engine engine) {
      this.engine = engine;
    }

    @Override
    public void pausing(String containerId, Duration within) throws java.io.IOException {
      allowed.put(containerId, within);
      if (containerId.equals(refuse)) {
        throw new java.io.IOException("the switch did not answer");
      }
      if (containerId.equals(slow)) {
        try {
          long nanos = Math.min(slowBy.toNanos(), within.toNanos());
          Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        if (slowBy.compareTo(within) > 0) {
          throw new java.io.IOException("the switch did not answer within " + within.toMillis() + " ms");
        }
      }
      synchronized (engine) {
        engine.calls.add("switch: pausing " + containerId);
        wouldUnpause.add(containerId);
      }
    }

    @Override
    public void notPaused(String containerId, Duration within) {
      synchronized (engine) {
        engine.calls.add("switch: not paused " + containerId);
        wouldUnpause.remove(containerId);
      }
    }

    @Override
    public void disarm() {
      disarmed = true;
      disarms++;
    }

    @Override
    public void abandon() {}
  }

  /**
   * The switch, like the record, knows of each container just before its pause and of none that
   * someone else paused first: it is told as the freeze goes, not given the writers up front.
   */
  @Test
  void theSwitchLearnsEachContainerJustBeforeItsPauseAndForgetsOneSomeoneElsePaused(@TempDir Path root)
      throws Exception {
    Engine engine = new Engine();
    engine.paused.add(B); // paused by someone else between the listing and our pause
    Guard guard = new Guard(engine);
    List<String> atEachPause = new ArrayList<>();
    Path record = root.resolve("frozen-run-1.1");
    engine.beforePause = () -> {
      try {
        atEachPause.add(guard.wouldUnpause + " " + Files.readAllLines(record).stream().skip(1).map(l -> l.split(" ")[0])
            .toList());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")),
        (r, deadline) -> guard);
    try (Freezer.Freeze f = freezer.freeze(List.of(writer(B), writer(A)), Duration.ofSeconds(30))) {
      assertThat(f.containers()).containsExactly("c-a");
      assertThat(guard.wouldUnpause).containsExactly(A);
      assertThat(engine.calls).containsExactly("switch: pausing " + B, "pause " + B, "switch: not paused " + B,
          "switch: pausing " + A, "pause " + A);
      // At each pause, the switch and the record know of the same containers, the one paused next among them.
      assertThat(atEachPause).containsExactly("[" + B + "] [" + B + "]", "[" + A + "] [" + A + "]");
    }
    assertThat(guard.disarmed).isTrue();
    assertThat(engine.paused).containsExactly(B);
  }

  /**
   * A copy closes its freeze when it is done and again on its way out: the second close does
   * nothing. A sibling switch disarmed twice tried to remove its container through an engine
   * client its first disarm had closed, and warned at every freeze of a manager run as a task.
   */
  @Test
  void aFreezeClosedTwiceThawsAndDisarmsOnce(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Guard guard = new Guard(engine);
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")),
        (r, deadline) -> guard);
    Freezer.Freeze f = freezer.freeze(List.of(writer(A)), Duration.ofSeconds(30));
    f.close();
    double seconds = f.seconds();
    f.close();
    assertThat(guard.disarms).isEqualTo(1);
    assertThat(engine.calls).containsExactly("switch: pausing " + A, "pause " + A, "unpause " + A);
    assertThat(engine.paused).isEmpty();
    assertThat(f.seconds()).isEqualTo(seconds);
    assertThat(root.resolve("frozen-run-1.1")).doesNotExist();
  }

  /** A switch that cannot be told of a container: that container is not paused, and the freeze fails. */
  @Test
  void aSwitchThatCannotBeToldStopsThePauseAndTheFreeze(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Guard guard = new Guard(engine);
    guard.refuse = B;
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")),
        (r, deadline) -> guard);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> freezer.freeze(List.of(writer(A), writer(B)),
        Duration.ofSeconds(30))).isInstanceOf(java.io.IOException.class)
        .hasMessageContaining("cannot pause c-b").hasMessageContaining("the switch did not answer");
    assertThat(engine.calls).containsExactly("switch: pausing " + A, "pause " + A, "unpause " + A);
    assertThat(engine.paused).isEmpty();
    assertThat(guard.disarmed).isTrue();
    assertThat(root.resolve("frozen-run-1.1")).doesNotExist();
  }

  /**
   * Once the first container is paused, a switch slow to answer about the next is given only what
   * is left of the freeze's maximum: it never holds the first past it.
   */
  @Test
  void aSwitchSlowToAnswerNeverHoldsTheFreezePastItsMaximum(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Guard guard = new Guard(engine);
    guard.slow = B;
    guard.slowBy = Duration.ofSeconds(30); // SiblingSwitch's own limit: longer than the freeze may last
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")),
        (r, deadline) -> guard);
    Duration max = Duration.ofMillis(700);
    long start = System.nanoTime();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> freezer.freeze(List.of(writer(A), writer(B)), max))
        .isInstanceOf(java.io.IOException.class).cause().isInstanceOf(io.mkebackup.common.BackupException.class)
        .hasMessageContaining("reached maxFreezeSeconds (0.7 s) before c-b could be paused")
        .extracting(e -> ((io.mkebackup.common.BackupException) e).code())
        .isEqualTo(io.mkebackup.common.ErrorCode.FREEZE_TOO_LONG);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    // Nothing paused yet: only the switch's deadline (the maximum and a margin) bounds that wait.
    assertThat(guard.allowed.get(A)).isGreaterThan(max)
        .isLessThanOrEqualTo(max.plusMillis(Freezer.SWITCH_MARGIN_MILLIS - 1_000));
    assertThat(guard.allowed.get(B)).isPositive().isLessThan(max);
    assertThat(took).as("the freeze failed once its maximum was used up, not after the switch's 30 s")
        .isLessThan(Duration.ofSeconds(10));
    assertThat(engine.calls).containsExactly("switch: pausing " + A, "pause " + A, "unpause " + A);
    assertThat(engine.paused).isEmpty();
  }

  /**
   * The switch counts its deadline (the maximum and a margin) from when it was armed, so time
   * spent before the first pause comes off the freeze too: the freeze never outlives the switch,
   * which would thaw a copy in progress unnoticed.
   */
  @Test
  void theFreezeEndsBeforeTheSwitchsDeadline(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Guard guard = new Guard(engine);
    engine.beforePause = () -> {
      if (engine.paused.isEmpty()) {
        try {
          Thread.sleep(Freezer.SWITCH_MARGIN_MILLIS - 800); // A's pause is slow: the switch runs meanwhile
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")),
        (r, deadline) -> guard);
    Duration max = Duration.ofMillis(300);
    Freezer.Freeze f = null;
    try {
      f = freezer.freeze(List.of(writer(A), writer(B)), max);
      // B was asked with what is left before the switch's deadline (about 100 ms), not the 300 ms.
      assertThat(guard.allowed.get(B)).isLessThan(Duration.ofMillis(200));
      Freezer.Freeze frozen = f;
      await().atMost(Duration.ofSeconds(5)).until(frozen::expired);
    } catch (java.io.IOException e) {
      // or, on a slow machine, nothing was left by then: B was never asked
      assertThat(e).cause().hasMessageContaining("reached maxFreezeSeconds");
      assertThat(guard.allowed).doesNotContainKey(B);
    } finally {
      if (f != null) {
        f.close();
      }
    }
    assertThat(engine.paused).isEmpty();
  }

  /** A switch that answered, but only after the maximum: the next container is not paused at all. */
  @Test
  void noPauseIsAskedOnceTheMaximumIsUsedUp(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Guard guard = new Guard(engine);
    guard.slow = B;
    guard.slowBy = Duration.ofMillis(400);
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")),
        (r, deadline) -> guard);
    // B's answer comes in time (400 ms of 500), but pausing B then C: C finds nothing left.
    engine.beforePause = () -> {
      if (engine.paused.contains(A) && !engine.paused.contains(B)) {
        try {
          Thread.sleep(150); // B's pause itself is slow: the maximum is used up when it returns
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    String c = "c".repeat(64);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> freezer.freeze(List.of(writer(A), writer(B),
        new Mounter(c, "c-c", true, true, false)), Duration.ofMillis(500)))
        .isInstanceOf(java.io.IOException.class).cause()
        .hasMessageContaining("reached maxFreezeSeconds (0.5 s) before c-c could be paused");
    assertThat(engine.calls).doesNotContain("pause " + c).contains("unpause " + A, "unpause " + B);
    assertThat(engine.paused).isEmpty();
  }

  /**
   * A pause that failed with anything but "already paused" or "gone" may have happened all the
   * same: the failed freeze unpauses that container too, and the switch is told nothing that
   * would make it forget it before then.
   */
  @Test
  void aPauseWhoseOutcomeIsUnknownIsUndoneWithTheOthers(@TempDir Path root) throws Exception {
    for (boolean happened : new boolean[] {true, false}) {
      Engine engine = new Engine();
      engine.failing = B;
      engine.failAfter = happened;
      Guard guard = new Guard(engine);
      Path dir = Files.createDirectories(root.resolve("case-" + happened));
      Freezer freezer = new Freezer(engine, "fake", dir, Files.createDirectory(dir.resolve("run-1")), (r, deadline) -> guard);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> freezer.freeze(List.of(writer(A), writer(B)),
          Duration.ofSeconds(30))).as("pause happened: " + happened)
          .isInstanceOf(com.github.dockerjava.api.exception.InternalServerErrorException.class);
      assertThat(engine.paused).as("pause happened: " + happened).isEmpty();
      assertThat(engine.calls).as("pause happened: " + happened).contains("unpause " + B, "unpause " + A)
          .doesNotContain("switch: not paused " + B);
      assertThat(guard.disarmed).isTrue();
    }
  }

  @Test
  void aFreezePastItsMaximumThawsByItselfAndSaysSo(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    Freezer freezer = new Freezer(engine, "fake", root, Files.createDirectory(root.resolve("run-1")), false);
    try (Freezer.Freeze f = freezer.freeze(List.of(writer(A)), Duration.ofMillis(200))) {
      await().atMost(Duration.ofSeconds(10)).until(f::expired);
      assertThat(engine.isPaused(A)).isFalse();
      assertThat(f.seconds()).isGreaterThanOrEqualTo(0.2);
    }
    assertThat(engine.calls).containsExactly("pause " + A, "unpause " + A);
  }

  @Test
  void recoveryThawsOnlyWhatDeadRunsLeftPaused(@TempDir Path root) throws Exception {
    Engine engine = new Engine();
    engine.paused.addAll(List.of(A, B));
    Files.writeString(root.resolve("frozen-run-dead.1"), A + " dead-one\n");
    // A live run: its spool directory's lock is held by a process (this one).
    try (SpoolDirectory live = SpoolDirectory.create(root)) {
      Files.writeString(root.resolve("frozen-" + live.dir().getFileName() + ".1"), B + " live-one\n");
      assertThat(Freezer.recover(root, engine)).containsExactly("dead-one");
      assertThat(engine.paused).containsExactly(B);
      assertThat(root.resolve("frozen-run-dead.1")).doesNotExist();
      assertThat(root.resolve("frozen-" + live.dir().getFileName() + ".1")).exists();
    }
  }

  @Test
  void recoveryLeavesAnotherEnginesRecordForARunAgainstIt(@TempDir Path root) throws Exception {
    Engine engine = new Engine(); // host "fake"
    engine.paused.addAll(List.of(A, B));
    Files.writeString(root.resolve("frozen-run-a.1"), "host tcp://other:2376\n" + A + " elsewhere\n");
    Files.writeString(root.resolve("frozen-run-b.1"), "host fake\n" + B + " here\n");
    assertThat(Freezer.recover(root, engine)).containsExactly("here");
    assertThat(engine.paused).containsExactly(A);
    assertThat(engine.calls).containsExactly("unpause " + B);
    assertThat(root.resolve("frozen-run-a.1")).exists();
    assertThat(root.resolve("frozen-run-b.1")).doesNotExist();
  }
}
