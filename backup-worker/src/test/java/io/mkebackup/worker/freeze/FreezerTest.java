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

    @Override
    public synchronized void pause(String id) {
      calls.add("pause " + id);
      if (!paused.add(id)) {
        throw new com.github.dockerjava.api.exception.ConflictException("Container " + id + " is already paused");
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
