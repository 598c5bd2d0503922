package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.source.DockerEngine.ContainerConfig;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Docker source's reading of the engine's responses, on tar streams shaped as dockerd sends
 * them (ContainerEngine is the seam; BackupRoundTripIT and HostileVolumeIT read a real dockerd):
 * the volumes under the helper's mount root come in one response and are told apart by name, a
 * volume mounted apart has its own, a volume not asked for is passed over, and an entry or a hard
 * link that leaves the volume being read is refused.
 */
class DockerArchiveVolumeSourceTest {
  private static final Map<String, String> LABELS = Map.of("io.mkebackup.helper", "test");

  @TempDir
  Path spool;

  /** A tar as dockerd writes one: each entry a directory (name ending in /), a file, or "name=>target" a hard link. */
  static byte[] tar(String... entries) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
      for (String e : entries) {
        TarArchiveEntry entry;
        byte[] data = new byte[0];
        if (e.contains("=>")) {
          entry = new TarArchiveEntry(e.substring(0, e.indexOf("=>")), TarConstants.LF_LINK);
          entry.setLinkName(e.substring(e.indexOf("=>") + 2));
        } else {
          entry = new TarArchiveEntry(e);
          if (!e.endsWith("/")) {
            data = ("content of " + e).getBytes(StandardCharsets.UTF_8);
            entry.setSize(data.length);
          }
        }
        t.putArchiveEntry(entry);
        t.write(data);
        t.closeArchiveEntry();
      }
    }
    return out.toByteArray();
  }

  /** Serves the archive of each path from a map, and records what was asked. */
  static final class Engine implements ContainerEngine {
    final Map<String, byte[]> archives = new LinkedHashMap<>();
    final List<String> asked = new ArrayList<>();
    final List<String> helpers = new ArrayList<>();
    /** Responses closed (each counted once). */
    int closed;

    @Override
    public InputStream archive(String containerId, String path) {
      asked.add(path);
      byte[] tar = archives.get(path);
      if (tar == null) {
        throw new AssertionError("no archive of " + path);
      }
      return new ByteArrayInputStream(tar) {
        private boolean done;

        @Override
        public void close() {
          if (!done) {
            done = true;
            closed++;
          }
        }
      };
    }

    @Override
    public String host() {
      return "test";
    }

    @Override
    public String version() {
      return "test";
    }

    @Override
    public List<VolumeInfo> ucpVolumes(String prefix) {
      return List.of();
    }

    @Override
    public List<ContainerConfig> ucpContainers(String prefix) {
      return List.of();
    }

    @Override
    public String createHelper(String image, String name, List<String> volumeNames, Set<String> apart,
        Map<String, String> labels) {
      helpers.add("create " + volumeNames + " " + apart + " " + labels);
      return "helper-" + helpers.size();
    }

    @Override
    public void removeContainer(String id) {
      helpers.add("remove " + id);
    }

    @Override
    public void close() {}
  }

  static VolumeInfo volume(String name) {
    return new VolumeInfo("p-" + name, name, Path.of("/nonexistent"));
  }

  /** The names of the archive the writer made. */
  static List<String> names(ByteArrayOutputStream out) throws IOException {
    List<String> names = new ArrayList<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        names.add(e.getName() + (e.isLink() ? "=>" + e.getLinkName() : ""));
      }
    }
    return names;
  }

  @Test
  void volumesUnderTheMountRootComeInOneResponseAndTheOneApartInItsOwn() throws Exception {
    Engine engine = new Engine();
    engine.archives.put("/vol", tar("vol/", "vol/p-ucp-a/", "vol/p-ucp-a/f1", "vol/p-ucp-b/", "vol/p-ucp-b/d/",
        "vol/p-ucp-b/d/f2", "vol/p-ucp-b/h=>vol/p-ucp-b/d/f2", "vol/p-ucp-c/"));
    engine.archives.put("/vol-apart/p-ucp-s", tar("p-ucp-s/", "p-ucp-s/x"));
    List<VolumeInfo> together = List.of(volume("ucp-a"), volume("ucp-b"), volume("ucp-c"));
    var source = new DockerArchiveVolumeSource(engine, "helper", together, "img", LABELS, w -> {});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArchiveWriter archive = new ArchiveWriter(out, spool, "t", false)) {
      List<VolumeSource.Copied> copied = new ArrayList<>();
      for (VolumeInfo v : List.of(volume("ucp-a"), volume("ucp-b"), volume("ucp-c"), volume("ucp-s"))) {
        copied.add(source.copy(v, archive, ByteCounter.NONE));
      }
      assertThat(copied).extracting(VolumeSource.Copied::files).containsExactly(1L, 1L, 0L, 1L);
      archive.directory("./end/", io.mkebackup.worker.pipeline.EntryInfo.rootOwned(0700, java.time.Instant.now()));
    }
    assertThat(engine.asked).containsExactly("/vol", "/vol-apart/p-ucp-s");
    assertThat(names(out)).containsSubsequence("./ucp-a/", "./ucp-a/f1", "./ucp-b/", "./ucp-b/d/", "./ucp-b/d/f2",
        "./ucp-b/h=>./ucp-b/d/f2", "./ucp-c/", "./ucp-s/", "./ucp-s/x", "./end/");
  }

  @Test
  void aVolumeNotAskedForIsPassedOver() throws Exception {
    Engine engine = new Engine();
    engine.archives.put("/vol", tar("vol/", "vol/p-ucp-a/", "vol/p-ucp-a/f1", "vol/p-ucp-b/", "vol/p-ucp-b/f2",
        "vol/p-ucp-c/", "vol/p-ucp-c/f3"));
    var source = new DockerArchiveVolumeSource(engine, "helper",
        List.of(volume("ucp-a"), volume("ucp-b"), volume("ucp-c")), "img", LABELS, w -> {});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArchiveWriter archive = new ArchiveWriter(out, spool, "t", false)) {
      source.copy(volume("ucp-a"), archive, ByteCounter.NONE);
      source.copy(volume("ucp-c"), archive, ByteCounter.NONE); // ucp-b was read from disk after all
      archive.directory("./end/", io.mkebackup.worker.pipeline.EntryInfo.rootOwned(0700, java.time.Instant.now()));
    }
    assertThat(engine.asked).containsExactly("/vol");
    assertThat(names(out)).contains("./ucp-a/f1", "./ucp-c/f3").noneMatch(n -> n.startsWith("./ucp-b"));
  }

  /**
   * dockerd knows hard links by inode number alone: over volumes on two file systems, a file can
   * arrive as a link to another volume's file. It is read by its own name, through a second helper
   * (the first is held until its response ends), and the response is read on to its end.
   */
  @Test
  void aHardLinkIntoAnotherVolumeIsReadOnItsOwn() throws Exception {
    Engine engine = new Engine();
    engine.archives.put("/vol", tar("vol/", "vol/p-ucp-a/", "vol/p-ucp-a/f1", "vol/p-ucp-b/",
        "vol/p-ucp-b/h=>vol/p-ucp-a/f1", "vol/p-ucp-b/g"));
    engine.archives.put("/vol/p-ucp-b/h", tar("h"));
    var source = new DockerArchiveVolumeSource(engine, "helper", List.of(volume("ucp-a"), volume("ucp-b")), "img",
        LABELS, w -> {});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ArchiveWriter archive = new ArchiveWriter(out, spool, "t", false)) {
      source.copy(volume("ucp-a"), archive, ByteCounter.NONE);
      assertThat(source.copy(volume("ucp-b"), archive, ByteCounter.NONE).files()).isEqualTo(2);
      archive.directory("./end/", io.mkebackup.worker.pipeline.EntryInfo.rootOwned(0700, java.time.Instant.now()));
    }
    assertThat(engine.helpers).containsExactly("create [p-ucp-b] [] " + LABELS, "remove helper-1");
    assertThat(names(out)).contains("./ucp-b/h", "./ucp-b/g").noneMatch(n -> n.contains("=>"));
    assertThat(engine.closed).as("both responses closed").isEqualTo(2);
  }

  @Test
  void entriesAfterTheLastVolumeOrALinkLeavingTheResponseAreRefused() throws Exception {
    Engine engine = new Engine();
    engine.archives.put("/vol", tar("vol/", "vol/p-ucp-a/", "vol/p-ucp-a/f1", "vol/p-ucp-x/"));
    var source = new DockerArchiveVolumeSource(engine, "helper", List.of(volume("ucp-a")), "img", LABELS, w -> {});
    try (ArchiveWriter archive = new ArchiveWriter(new ByteArrayOutputStream(), spool, "t", false)) {
      assertThatThrownBy(() -> source.copy(volume("ucp-a"), archive, ByteCounter.NONE))
          .isInstanceOf(BackupException.class).hasMessageContaining("after the last volume");
    }
    assertThat(engine.closed).isEqualTo(1);

    engine.archives.put("/vol-apart/p-ucp-s", tar("p-ucp-s/", "p-ucp-s/h=>elsewhere/f"));
    engine.archives.put("/vol/p-ucp-s/h", tar("h/"));
    var apart = new DockerArchiveVolumeSource(engine, "helper", List.of(), "img", LABELS, w -> {});
    try (ArchiveWriter archive = new ArchiveWriter(new ByteArrayOutputStream(), spool, "t", false)) {
      assertThatThrownBy(() -> apart.copy(volume("ucp-s"), archive, ByteCounter.NONE))
          .isInstanceOf(BackupException.class).hasMessageContaining("changed while it was read");
    }
  }

  /** A backup that fails between two volumes closes the shared response (dockerd holds the helper until then). */
  @Test
  void closingTheSourceEndsTheSharedResponse() throws Exception {
    Engine engine = new Engine();
    engine.archives.put("/vol", tar("vol/", "vol/p-ucp-a/", "vol/p-ucp-b/"));
    var source = new DockerArchiveVolumeSource(engine, "helper", List.of(volume("ucp-a"), volume("ucp-b")), "img",
        LABELS, w -> {});
    try (ArchiveWriter archive = new ArchiveWriter(new ByteArrayOutputStream(), spool, "t", false)) {
      source.copy(volume("ucp-a"), archive, ByteCounter.NONE);
    }
    assertThat(engine.closed).isZero();
    source.close();
    assertThat(engine.closed).isEqualTo(1);
  }

  @Test
  void anotherVolumeWhereTheAskedOneIsDueIsRefused() throws Exception {
    Engine engine = new Engine();
    engine.archives.put("/vol", tar("vol/", "vol/p-ucp-z/", "vol/p-ucp-z/f"));
    var source = new DockerArchiveVolumeSource(engine, "helper", List.of(volume("ucp-a")), "img", LABELS, w -> {});
    try (ArchiveWriter archive = new ArchiveWriter(new ByteArrayOutputStream(), spool, "t", false)) {
      assertThatThrownBy(() -> source.copy(volume("ucp-a"), archive, ByteCounter.NONE))
          .isInstanceOf(BackupException.class).hasMessageContaining("volume ucp-a")
          .hasMessageContaining("p-ucp-z/");
    }
  }
}
