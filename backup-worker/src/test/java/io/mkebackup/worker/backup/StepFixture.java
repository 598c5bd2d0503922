package io.mkebackup.worker.backup;

import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * What the step tests share: volumes as directories of a test's own, a configuration, a progress
 * that keeps its events, and an archive written to memory whose entries a test reads back.
 */
final class StepFixture {
  final Path root;
  final List<ProgressEvent> events = new CopyOnWriteArrayList<>();
  final Progress progress = new Progress("run-1", events::add);
  final ByteArrayOutputStream tar = new ByteArrayOutputStream();
  final ArchiveWriter archive;

  StepFixture(Path root) throws IOException {
    this.root = root;
    archive = new ArchiveWriter(tar, Files.createDirectories(root.resolve("spool")), "t", false);
  }

  BackupConfig config(SourceMode mode, EtcdEndpoint etcd) {
    return new BackupConfig("node-a", "fake://engine", "", BackupConfig.DEFAULT_EXCLUDED, mode, etcd,
        BackupConfig.DEFAULT_HELPER_IMAGE, root.resolve("spool"), 0);
  }

  VolumeInfo volume(String name, Map<String, String> files) throws IOException {
    Path dir = Files.createDirectories(root.resolve("volumes").resolve(name));
    for (Map.Entry<String, String> f : files.entrySet()) {
      Files.writeString(dir.resolve(f.getKey()), f.getValue());
    }
    return new VolumeInfo(name, name, dir);
  }

  /** Ends the archive and reads it back: each entry's name and content, in order. */
  Map<String, String> entries() throws IOException {
    archive.finish(new ArchiveMetadata(null, null, null, null, null, null, null, null, List.of(), List.of(), null,
        true, List.of(), List.of(), null), EntryInfo.rootOwned(0600, Instant.EPOCH), null);
    archive.close();
    Map<String, String> entries = new LinkedHashMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar.toByteArray()))) {
      for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        entries.put(e.getName(), new String(in.readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    entries.remove("./backup-metadata.json");
    return entries;
  }

  List<String> said() {
    return events.stream().map(e -> e.kind().id() + " " + (e.step() == null ? "" : e.step().id()) + " "
        + e.target() + ": " + e.message()).filter(s -> !s.startsWith("progress")).toList();
  }
}
