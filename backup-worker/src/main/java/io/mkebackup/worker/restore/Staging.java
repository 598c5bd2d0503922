package io.mkebackup.worker.restore;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.common.io.Storage;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.worker.pipeline.ArchiveSink;
import io.mkebackup.worker.source.DockerEngine;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * Receives a verified-as-it-streams archive's volumes and stages each one ({@link StagedVolume});
 * nothing replaces a volume's contents before {@link #commit} (which the restore calls only once
 * the whole archive is proved), and {@link #discard()} leaves every volume as it was. A volume
 * that exists and is not empty is refused as soon as its first entry arrives, unless --force.
 * A dry run only looks at the volumes.
 */
final class Staging implements ArchiveSink {
  private final DockerEngine docker;
  private final RestoreProcedure.Options options;
  private final String label;
  private final long archiveBytes;
  private final LongSupplier consumed;
  private final java.util.Set<Object> checkedDevices = new java.util.HashSet<>();
  private final Consumer<String> progress;
  private final Map<String, StagedVolume> staged = new LinkedHashMap<>();
  /** Every volume met, by archive name: "create", "exists, empty" or "exists, not empty". */
  private final Map<String, String> states = new LinkedHashMap<>();
  private String snapshotEntry;

  /**
   * @param archiveBytes the archive's size when known (a file), else -1
   * @param consumed how many of the archive's bytes were read so far
   */
  Staging(DockerEngine docker, RestoreProcedure.Options options, String label, long archiveBytes, LongSupplier consumed,
      Consumer<String> progress) {
    this.docker = docker;
    this.options = options;
    this.label = label;
    this.archiveBytes = archiveBytes;
    this.consumed = consumed;
    this.progress = progress;
  }

  Map<String, String> states() {
    return states;
  }

  String snapshotEntry() {
    return snapshotEntry;
  }

  /** The staged volume of an archive volume, created on its first entry; null in a dry run. */
  private StagedVolume volume(String name) {
    StagedVolume v = staged.get(name);
    if (v != null || states.containsKey(name)) {
      return v;
    }
    String full = options.volumePrefix() + name;
    Optional<Path> existing = docker.volumeMountpoint(full);
    boolean hadContents;
    try {
      hadContents = existing.isPresent() && StagedVolume.hasContents(existing.get());
    } catch (IOException e) {
      throw new BackupException(ErrorCode.RESTORE_FAILED, "cannot read volume " + full + " at " + existing.get()
          + ": " + e.getMessage() + "; restore runs as root on the manager", e);
    }
    if (hadContents && !options.force()) {
      throw new BackupException(ErrorCode.TARGET_NOT_EMPTY, "--force", "volume " + full + " exists and is not"
          + " empty; restore writes only into missing or empty volumes. Remove it (docker volume rm) or give --force"
          + " to replace its contents (the new ones are swapped in only once all of them are written)", null);
    }
    states.put(name, existing.isEmpty() ? "create" : hadContents ? "exists, not empty" : "exists, empty");
    if (options.dryRun()) {
      return null;
    }
    Path mount = existing.orElse(null);
    if (mount == null) {
      mount = docker.createVolume(full, Map.of(RestoreProcedure.LABEL, label));
    }
    try {
      v = StagedVolume.open(full, mount, existing.isEmpty(), hadContents, options.keepSetid());
    } catch (IOException | RuntimeException e) {
      if (existing.isEmpty()) {
        docker.removeVolume(full);
      }
      throw failed(full, e);
    }
    staged.put(name, v);
    checkSpace(v);
    progress.accept("volume " + full + ": writing (staged beside it until the whole archive is verified)");
    return v;
  }

  /**
   * Before the first volume staged on each file system: the rest of the archive must fit there
   * (it is what is still to be staged, at most), so a full disk is found before, not while,
   * writing. Unknown on stdin; a full disk then fails the restore midway, changing nothing.
   */
  private void checkSpace(StagedVolume v) {
    if (archiveBytes < 0) {
      return;
    }
    Object device;
    try {
      device = Files.getAttribute(v.staging(), "unix:dev", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return;
    }
    if (!checkedDevices.add(device)) {
      return;
    }
    long needed = Math.max(0, archiveBytes - consumed.getAsLong());
    long free = Storage.freeBytes(v.staging());
    if (free < needed) {
      throw new BackupException(ErrorCode.TARGET_FULL, "the file system of volume " + v.fullName + " has "
          + ProgressFormat.bytes(free) + " free, but staging the rest of the archive there needs up to "
          + ProgressFormat.bytes(needed) + ": free space there and run the restore again; nothing was changed");
    }
  }

  @Override
  public void directory(String volume, String path, TarArchiveEntry entry) {
    StagedVolume v = volume(volume);
    if (v != null) {
      try {
        v.directory(path, entry);
      } catch (IOException e) {
        throw failed(v.fullName, e);
      }
    }
  }

  @Override
  public OutputStream file(String volume, String path, TarArchiveEntry entry) {
    StagedVolume v = volume(volume);
    if (v == null) {
      return null;
    }
    try {
      return guarded(v, v.file(path, entry));
    } catch (IOException e) {
      throw failed(v.fullName, e);
    }
  }

  @Override
  public void hardlink(String volume, String path, String target, TarArchiveEntry entry) {
    StagedVolume v = volume(volume);
    if (v != null) {
      try {
        v.hardlink(path, target);
      } catch (IOException e) {
        throw failed(v.fullName, e);
      }
    }
  }

  @Override
  public void symlink(String volume, String path, String target, TarArchiveEntry entry) {
    StagedVolume v = volume(volume);
    if (v != null) {
      v.symlink(path, target, entry);
    }
  }

  @Override
  public OutputStream snapshot(String entry, long size) {
    snapshotEntry = entry;
    StagedVolume v = volume(ArchiveLayout.ETCD_VOLUME);
    if (v == null) {
      return null;
    }
    try {
      return guarded(v, v.snapshot());
    } catch (IOException e) {
      throw failed(v.fullName, e);
    }
  }

  /** Write errors (a full disk) become errors naming the volume, not "the archive cannot be read". */
  private static OutputStream guarded(StagedVolume v, OutputStream out) {
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) {
        try {
          out.write(b, off, len);
        } catch (IOException e) {
          throw failed(v.fullName, e);
        }
      }

      @Override
      public void close() {
        try {
          out.close();
        } catch (IOException e) {
          throw failed(v.fullName, e);
        }
      }
    };
  }

  static BackupException failed(String volume, Exception e) {
    if (e instanceof BackupException b) {
      return b;
    }
    String m = String.valueOf(e.getMessage());
    if (m.contains("No space left") || m.contains("Disk quota exceeded")) {
      return new BackupException(ErrorCode.TARGET_FULL, "no space left on the file system of volume " + volume
          + " while staging its new contents; free space there and run the restore again", e);
    }
    return new BackupException(ErrorCode.RESTORE_FAILED, "staging volume " + volume + " failed: "
        + FileNames.printable(m), e);
  }

  /** Volumes staged, in the order met. */
  List<StagedVolume> staged() {
    return new ArrayList<>(staged.values());
  }

  StagedVolume etcdVolume() {
    return staged.get(ArchiveLayout.ETCD_VOLUME);
  }

  /**
   * Finishes every tree (links, directory attributes), runs {@code beforeSwap} (the etcd restore
   * into the staged ucp-kv), then swaps every volume; a failure on the way puts back every volume
   * already swapped.
   */
  void commit(StagedAction beforeSwap) throws IOException {
    for (StagedVolume v : staged.values()) {
      v.finishTree();
    }
    beforeSwap.run();
    List<StagedVolume> swapped = new ArrayList<>();
    try {
      for (StagedVolume v : staged.values()) {
        swapped.add(v);
        v.swapIn();
      }
    } catch (IOException | RuntimeException e) {
      for (int i = swapped.size() - 1; i >= 0; i--) {
        try {
          swapped.get(i).rollBack();
        } catch (IOException | RuntimeException again) {
          e.addSuppressed(again);
        }
      }
      throw e;
    }
    for (StagedVolume v : staged.values()) {
      v.committed();
      try {
        v.discard();
      } catch (IOException e) {
        progress.accept("warning: could not remove the staging directory " + v.staging() + ": " + e.getMessage());
      }
    }
    staged.clear();
  }

  /**
   * Removes every staging directory and the volumes this restore created.
   *
   * @return the volumes removed
   */
  List<String> discard() {
    List<String> removed = new ArrayList<>();
    for (StagedVolume v : staged.values()) {
      try {
        v.discard();
      } catch (IOException | RuntimeException e) {
        progress.accept("warning: could not remove the staging directory " + v.staging() + ": " + e.getMessage());
      }
      if (v.created && !v.holdsOldContents()) {
        docker.removeVolume(v.fullName);
        removed.add(v.fullName);
      }
    }
    staged.clear();
    return removed;
  }

  /** A step that may fail with an I/O error. */
  @FunctionalInterface
  interface StagedAction {
    void run() throws IOException;
  }
}
