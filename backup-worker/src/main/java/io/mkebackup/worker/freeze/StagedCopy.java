package io.mkebackup.worker.freeze;

import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.VolumeSource.Copied;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Copies a volume that running containers write so that its writers are paused only for what
 * they wrote, not for the whole volume. The caller drives it:
 * <ol>
 *   <li>{@link #preCopy()}, writers running: every regular file is copied into a private stage in
 *       the spool, and again (up to {@value #MAX_PASSES} passes) what changed meanwhile;
 *   <li>the caller pauses the writers; {@link #frozenPass(ByteCounter)} walks the volume again and
 *       reads only the files whose size, mtime, ctime or inode differ from what was staged (or
 *       whose staged copy may be racy, below), updating the stage chunk by chunk, and records
 *       every entry as it is at that instant: files deleted meanwhile are gone, new ones copied;
 *   <li>the caller unpauses; {@link #writeTo} streams that image into the archive from the stage.
 * </ol>
 * A staged copy is trusted only when the file's ctime (which no process can set, and which
 * changes with every write and attribute change) is unchanged and was already
 * {@value #RACY_MILLIS} ms old when the pass that copied it began: file times tick coarsely (a
 * jiffy on Linux), so a file written again within the same tick as our look at it keeps its ctime,
 * and only a ctime older than the pass proves the copy saw its last write (git's "racily clean"
 * rule). A database's hot files (the write-ahead log) are therefore always read while frozen; the
 * rest of the volume never is. Memory holds one record per file, never file contents.
 */
public final class StagedCopy implements Closeable {
  /** Passes while the writers run: the first copies everything, the next catch up. */
  static final int MAX_PASSES = 3;
  /** Another unfrozen pass is taken while the last one read more than this. */
  static final long CATCH_UP_BYTES = 8L << 20;
  /** How old a ctime must be, when the copy of its file begins, for the copy to be trusted. */
  static final long RACY_MILLIS = 2_000;
  private static final int CHUNK = 1 << 20;

  private final LongSupplier clock;
  private final DiskVolumeSource disk;
  private final VolumeInfo volume;
  private final Path stage;
  private final Map<String, Staged> staged = new HashMap<>();
  private final List<Entry> image = new ArrayList<>();
  private final ByteBuffer live = ByteBuffer.allocateDirect(CHUNK);
  private final ByteBuffer kept = ByteBuffer.allocateDirect(CHUNK);
  private int nextIndex;
  private long preCopiedBytes;
  private int passes;
  private long frozenBytes;
  private long frozenFiles;
  private boolean frozenDone;

  /** A staged copy of one file: which inode, as it was looked at, when its pass began, where it is. */
  record Staged(Object key, long size, FileTime mtime, FileTime ctime, long copyStartMillis, int index,
      long length) {}

  /** One entry of the frozen image, in the archive's order. */
  private record Entry(char kind, String name, String relative, Map<String, Object> attrs, String target,
      int index) {}

  /**
   * @param disk the walker (its warnings are said for the frozen walk only: while the writers run,
   *     files come and go)
   * @param spool this run's private spool directory; the stage is made inside it
   */
  public StagedCopy(DiskVolumeSource disk, VolumeInfo volume, Path spool) throws IOException {
    this(disk, volume, spool, System::currentTimeMillis);
  }

  /** @param clock when a file's copy begins, in ms since the epoch (tests move it) */
  StagedCopy(DiskVolumeSource disk, VolumeInfo volume, Path spool, LongSupplier clock) throws IOException {
    this.clock = clock;
    this.disk = disk;
    this.volume = volume;
    this.stage = Files.createTempDirectory(spool, "stage-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
  }

  /** Copies the volume into the stage while its writers run; returns the bytes read. */
  public long preCopy() throws IOException {
    long read;
    do {
      read = pass(passes == 0);
      passes++;
      preCopiedBytes += read;
    } while (passes < MAX_PASSES && read > CATCH_UP_BYTES);
    return preCopiedBytes;
  }

  /**
   * One unfrozen pass. The first copies every file; the next copy only files that have no staged
   * copy of the same inode (created or replaced meanwhile): a file rewritten in place (a
   * database) is compared chunk by chunk in the frozen pass anyway, so copying it again here
   * would cost a read of it and save nothing.
   */
  private long pass(boolean first) throws IOException {
    long[] read = {0};
    // Taken before any file of the pass is looked at: a write after a file's look gives it a
    // ctime no older than this (less a tick), however long the pass stalls before the copy.
    long passStart = clock.getAsLong();
    disk.walk(volume, new DiskVolumeSource.Visitor() {
      @Override
      public void directory(String name, String relative, Map<String, Object> a) {}

      @Override
      public void symlink(String name, String relative, String target, Map<String, Object> a) {}

      @Override
      public boolean wantsContent(String relative, Map<String, Object> a) {
        Staged s = staged.get(relative);
        return first ? !trusted(s, a) : s == null || !s.key().equals(a.get("fileKey"));
      }

      @Override
      public void file(String name, String relative, Map<String, Object> a, SeekableByteChannel in)
          throws IOException {
        if (in != null) {
          Staged s = copyIn(staged.get(relative), a, in, null);
          staged.put(relative, new Staged(a.get("fileKey"), size(a), mtime(a), ctime(a), passStart, s.index(),
              s.length()));
          read[0] += s.length();
        }
      }
    }, false);
    return read[0];
  }

  /**
   * The walk while the writers are paused: the image the archive gets. Reads only the files that
   * changed since they were staged; {@code counter} is told of every chunk read (it stops the
   * pass by throwing, when the freeze lasts too long).
   */
  public void frozenPass(ByteCounter counter) throws IOException {
    disk.walk(volume, new DiskVolumeSource.Visitor() {
      @Override
      public void directory(String name, String relative, Map<String, Object> a) {
        image.add(new Entry('d', name, relative, a, null, -1));
      }

      @Override
      public void symlink(String name, String relative, String target, Map<String, Object> a) {
        image.add(new Entry('l', name, relative, a, target, -1));
      }

      @Override
      public boolean wantsContent(String relative, Map<String, Object> a) {
        return !trusted(staged.get(relative), a);
      }

      @Override
      public void file(String name, String relative, Map<String, Object> a, SeekableByteChannel in)
          throws IOException {
        Staged s = staged.get(relative);
        if (in != null) {
          s = copyIn(s, a, in, counter);
          frozenBytes += s.length();
          frozenFiles++;
        }
        image.add(new Entry('f', name, relative, a, null, s.index()));
      }
    }, true);
    frozenDone = true;
  }

  /**
   * Streams the frozen image into the archive (the writers may run again meanwhile: it reads
   * only the stage), deleting each staged file once written.
   */
  public Copied writeTo(ArchiveWriter archive, ByteCounter progress, Consumer<String> warnings) throws IOException {
    if (!frozenDone) {
      throw new IllegalStateException("no frozen pass yet");
    }
    DiskVolumeSource.ToArchive to = new DiskVolumeSource.ToArchive(archive, progress, warnings);
    for (Entry e : image) {
      switch (e.kind()) {
        case 'd' -> to.directory(e.name(), e.relative(), e.attrs());
        case 'l' -> to.symlink(e.name(), e.relative(), e.target(), e.attrs());
        default -> {
          Path f = file(e.index());
          try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
            to.file(e.name(), e.attrs(), Files.size(f), in);
          }
          Files.delete(f);
        }
      }
    }
    return new Copied(to.files(), to.bytes(), "disk");
  }

  /** Bytes read while the writers ran (every pass). */
  public long preCopiedBytes() {
    return preCopiedBytes;
  }

  /** Unfrozen passes taken. */
  public int passes() {
    return passes;
  }

  /** Bytes read while the writers were paused. */
  public long frozenBytes() {
    return frozenBytes;
  }

  /** Files read while the writers were paused. */
  public long frozenFiles() {
    return frozenFiles;
  }

  @Override
  public void close() throws IOException {
    SpoolDirectory.deleteTree(stage);
  }

  /**
   * Whether the staged copy is the file as it is now: same inode, size, mtime and ctime, and that
   * ctime older than the copy's start by more than a file-time tick can hide (see the class).
   */
  static boolean trusted(Staged s, Map<String, Object> a) {
    return s != null && s.key().equals(a.get("fileKey")) && s.size() == size(a) && s.length() == size(a)
        && s.mtime().equals(mtime(a)) && s.ctime().equals(ctime(a))
        && s.ctime().to(TimeUnit.NANOSECONDS) < TimeUnit.MILLISECONDS.toNanos(s.copyStartMillis() - RACY_MILLIS);
  }

  /**
   * Copies {@code in} into the stage: over the staged copy of the same inode chunk by chunk,
   * writing only the chunks that differ (a database rewrites a few pages, not its file), or into
   * a new staged file. Direct buffers and positional reads: a paused writer's 1 GiB database is
   * read and compared at the speed of its page cache, which is what the freeze lasts.
   */
  private Staged copyIn(Staged old, Map<String, Object> a, SeekableByteChannel in, ByteCounter counter)
      throws IOException {
    boolean sameInode = old != null && old.key().equals(a.get("fileKey"));
    int index;
    if (sameInode) {
      index = old.index();
    } else {
      if (old != null) {
        Files.deleteIfExists(file(old.index()));
      }
      index = nextIndex++;
    }
    Path f = file(index);
    long length = 0;
    try (FileChannel ch = sameInode
        ? FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)
        : FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      for (int n = readFully(in, live); n > 0; n = readFully(in, live)) {
        boolean differs = true;
        if (sameInode) {
          kept.clear().limit(n);
          while (kept.hasRemaining() && ch.read(kept, length + kept.position()) >= 0) {
            // positional: the copy's length may differ from the file's
          }
          kept.flip();
          differs = kept.remaining() != n || live.mismatch(kept) >= 0;
        }
        if (differs) {
          long at = length;
          while (live.hasRemaining()) {
            at += ch.write(live, at);
          }
        }
        length += n;
        if (counter != null) {
          counter.add(n);
        }
      }
      if (sameInode) {
        ch.truncate(length);
      }
    }
    return new Staged(a.get("fileKey"), size(a), mtime(a), ctime(a), 0, index, length);
  }

  private Path file(int index) {
    return stage.resolve(Integer.toString(index));
  }

  /** Fills {@code b} from {@code in}'s position (flipped for reading); 0 at the end. */
  private static int readFully(SeekableByteChannel in, ByteBuffer b) throws IOException {
    b.clear();
    while (b.hasRemaining() && in.read(b) >= 0) {
      // a short read is not the end
    }
    b.flip();
    return b.remaining();
  }

  private static long size(Map<String, Object> a) {
    return (Long) a.get("size");
  }

  private static FileTime mtime(Map<String, Object> a) {
    return (FileTime) a.get("lastModifiedTime");
  }

  private static FileTime ctime(Map<String, Object> a) {
    return (FileTime) a.get("ctime");
  }
}
