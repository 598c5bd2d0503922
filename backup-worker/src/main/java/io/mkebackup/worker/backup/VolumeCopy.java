package io.mkebackup.worker.backup;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.io.Storage;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.freeze.Freezer;
import io.mkebackup.worker.freeze.StagedCopy;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.VolumeSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The volume steps: copies one volume into the archive and says what it contributed. With a
 * freezer, the running containers that mount the volume read-write are paused for the copy of
 * this volume only (ucp-kv never comes here: etcd's snapshot API). Read from disk, such a volume
 * is first staged in the spool with its writers running, and only what changed since is read while
 * they are paused ({@link StagedCopy}); through the Docker API (one tar of the whole volume, no way
 * to ask for what changed) it is copied whole while paused.
 */
final class VolumeCopy {
  /**
   * The logger the freeze lines always had, by its old name (the class and its package were
   * renamed): the log still says {@code BackupEngine:} on them, so what users grep for still
   * matches.
   */
  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger("io.mkebackup.worker.engine.BackupEngine");

  private final BackupConfig config;
  private final ContainerEngine docker;
  private final Freezer freezer;
  private final Path spool;
  private final ArchiveWriter archive;
  private final Progress p;
  private final List<String> warnings;

  /**
   * @param freezer null to copy without pausing anyone
   * @param spool the run's private directory, where a volume is staged
   * @param warnings the list the volume sources add to; cleared for each volume, said after it
   */
  VolumeCopy(BackupConfig config, ContainerEngine docker, Freezer freezer, Path spool, ArchiveWriter archive,
      Progress p, List<String> warnings) {
    this.config = config;
    this.docker = docker;
    this.freezer = freezer;
    this.spool = spool;
    this.archive = archive;
    this.p = p;
    this.warnings = warnings;
  }

  /** How a copy went: what it wrote, the freeze (null when no one was paused) and the bytes read frozen. */
  private record Outcome(VolumeSource.Copied copied, Freezer.Freeze freeze, long frozenBytes) {}

  ArchiveMetadata.Volume copy(Step step, VolumeInfo v, VolumeSource source) {
    p.started(step, v.name(), "copying volume " + v.name());
    warnings.clear();
    List<Mounter> mounters = freezer == null ? List.of() : docker.mounters(v.fullName());
    List<Mounter> writers = Freezer.writers(mounters);
    List<String> theirs = mounters.stream().filter(m -> m.readWrite() && m.paused()).map(Mounter::name).toList();
    Outcome o = copyPausing(step, v, source, writers);
    for (String w : warnings) {
      p.warning(w);
    }
    VolumeSource.Copied copied = o.copied();
    ArchiveMetadata.Volume m = new ArchiveMetadata.Volume(v.name(), copied.files(), copied.bytes(), copied.via());
    if (o.freeze() != null) {
      double seconds = Math.round(o.freeze().seconds() * 1000) / 1000.0;
      m = new ArchiveMetadata.Volume(v.name(), copied.files(), copied.bytes(), copied.via(), o.freeze().containers(),
          seconds, o.frozenBytes());
    } else if (!theirs.isEmpty()) {
      m = new ArchiveMetadata.Volume(v.name(), copied.files(), copied.bytes(), copied.via(), theirs, null, null);
      p.frozen(String.join(", ", theirs) + " already paused by someone else; copied as it is, left paused");
    }
    p.done(copied.files(), copied.files() + " files, " + ProgressFormat.bytes(copied.bytes()) + " (via " + copied.via() + ")");
    return m;
  }

  private Outcome copyPausing(Step step, VolumeInfo v, VolumeSource source, List<Mounter> writers) {
    VolumeSource.Copied copied = null;
    Freezer.Freeze freeze = null;
    StagedCopy staged = null;
    long frozenBytes = -1;
    try {
      if (!writers.isEmpty() && source instanceof DiskVolumeSource disk && Freezer.staged()) {
        staged = stage(v, disk);
      }
      ByteCounter counter = p;
      if (staged != null) {
        staged.preCopy();
      }
      if (!writers.isEmpty()) {
        freeze = freezer.freeze(writers, config.maxFreeze());
        Freezer.Freeze f = freeze;
        ByteCounter then = staged == null ? p : ByteCounter.NONE;
        // Past maxFreezeSeconds the timer thaws; the next chunk read stops the copy.
        counter = n -> {
          if (f.expired()) {
            throw tooLong(v, f);
          }
          then.add(n);
        };
      }
      if (staged != null) {
        // While frozen nothing is throttled or counted: the freeze is what users wait for, and
        // the bytes are counted when they go into the archive.
        staged.frozenPass(counter);
        frozenBytes = staged.frozenBytes();
      } else {
        copied = source.copy(v, archive, counter);
        frozenBytes = copied.bytes();
      }
      if (freeze != null) {
        thawed(step, v, freeze, staged, frozenBytes);
      }
      if (staged != null) {
        copied = staged.writeTo(archive, p, warnings::add);
      }
    } catch (IOException e) {
      if (e.getCause() instanceof BackupException be) {
        throw be;
      }
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "reading volume " + v.name() + " failed: "
          + e.getMessage(), e);
    } finally {
      if (freeze != null) {
        freeze.close(); // on every path: thaws once, disarms the switch
      }
      if (staged != null) {
        try {
          staged.close();
        } catch (IOException e) {
          LOG.warning("cannot remove the stage of volume " + v.name() + " (" + e + "); the spool's sweep will");
        }
      }
    }
    return new Outcome(copied, freeze, frozenBytes);
  }

  /** A stage in the spool for a volume read from disk, or null (and a warning) when the spool lacks the room. */
  private StagedCopy stage(VolumeInfo v, DiskVolumeSource disk) throws IOException {
    long need = BackupProcedure.sizeOnDisk(v.mountpoint());
    need += need / 10 + (64L << 20);
    long free = Storage.freeBytes(spool);
    if (free >= need) {
      return new StagedCopy(disk, v, spool);
    }
    warnings.add("the spool " + spool.getParent() + " has " + ProgressFormat.bytes(free) + " free, less than the"
        + " " + ProgressFormat.bytes(need) + " needed to stage volume " + v.name() + " before pausing its"
        + " writers, so it was copied whole while they were paused (a longer freeze); free space there or"
        + " set spoolDir");
    return null;
  }

  /**
   * Ends the freeze and says how long it was, as soon as the writers run again (before the archive
   * is written from the stage), so the line's time is the end of the pause.
   */
  private void thawed(Step step, VolumeInfo v, Freezer.Freeze freeze, StagedCopy staged, long frozenBytes) {
    freeze.close();
    if (freeze.expired() || freeze.seconds() > config.maxFreeze().toNanos() / 1e9) {
      throw tooLong(v, freeze);
    }
    double seconds = Math.round(freeze.seconds() * 1000) / 1000.0;
    String line = String.join(", ", freeze.containers()) + " paused "
        + String.format(java.util.Locale.ROOT, seconds < 1 ? "%.2f" : "%.1f", seconds) + " s"
        + (staged == null ? " (the whole volume was copied while paused)"
            : " (read " + ProgressFormat.bytes(frozenBytes) + " that changed since an unpaused copy of "
                + ProgressFormat.bytes(staged.preCopiedBytes()) + ")");
    LOG.info(step.id() + " " + v.name() + ": " + line);
    p.frozen(line);
  }

  private BackupException tooLong(VolumeInfo v, Freezer.Freeze f) {
    return new BackupException(ErrorCode.FREEZE_TOO_LONG, "maxFreezeSeconds", "copying volume " + v.name() + " kept "
        + String.join(", ", f.containers()) + " paused for more than " + config.maxFreeze().toMillis() / 1000.0
        + " s (maxFreezeSeconds), so they were unpaused and the backup stopped; the older backup file is left in"
        + " place. Raise maxFreezeSeconds (--max-freeze) or make the volume smaller", null);
  }
}
