package io.mkebackup.worker.pipeline;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.io.Storage;
import io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The stages one archive goes through, threads joined by bounded queues: tar (the caller's
 * thread) [-> OpenPGP framing -> encrypting thread] -> pipe -> writer thread -> destination. The caller
 * writes the entries to {@link #archive()} and then calls {@link #finish}; closing a pipeline that
 * did not finish stops its threads and leaves nothing at the destination, so one try-with-resources
 * cleans up after any failure.
 */
public final class Pipeline implements AutoCloseable {
  static final int PIPE_BUFFER = 1 << 20;

  /** Where the archive's bytes go. */
  public interface Destination {
    /** The stream the writer thread writes to; its errors name the target. */
    OutputStream stream();

    /**
     * Makes the archive complete at the target (a file: durable, then renamed into place),
     * asking the fence first.
     *
     * @return the archive's size in bytes
     */
    long commit(Fence fence) throws IOException;

    /** Drops what was written, when the target allows (a file: its temporary); never throws. */
    void abort();
  }

  private final Destination destination;
  private final Fence fence;
  private AsyncOutputStream pipe;
  private PgpEncryptingOutputStream encryptor;
  private ArchiveWriter writer;
  private boolean finished;

  /**
   * Starts the stages. The pipeline owns the destination from now on, also when this fails.
   *
   * @param fence asked before every chunk the writer thread writes and before the commit: a
   *     backup that lost the cluster's lock stops and leaves nothing behind
   * @param passphrase encrypts the archive, or null for a plain tar
   * @param literalName the name GnuPG shows for the encrypted content
   * @param spoolDir a private directory for the writer's entry list
   * @param tag the backup's id, naming the threads
   */
  public static Pipeline open(Destination destination, Fence fence, Passphrase passphrase, String literalName, Path spoolDir,
      String tag) throws IOException {
    Pipeline p = new Pipeline(destination, fence);
    try {
      // This thread reads and frames the tar (and, encrypted, hashes the files and frames the
      // literal packet and its MDC); unencrypted, a thread of its own hashes large files
      // (SHA-256); encrypted, AES/CFB cannot be split (each block needs the one before), so its
      // thread does nothing else. Hashing on a thread of its own when encrypting was 3-4% slower
      // in A/B runs (4.74 s against 4.55 s for 1.4 GB): both cores are busy already.
      p.pipe = new AsyncOutputStream(new Fenced(destination.stream(), fence), PIPE_BUFFER, 3, "mke-backup-writer-" + tag);
      OutputStream top = p.pipe;
      if (passphrase != null) {
        p.encryptor = new PgpEncryptingOutputStream(p.pipe, passphrase, literalName, true);
        top = p.encryptor;
      }
      p.writer = new ArchiveWriter(top, spoolDir, tag, passphrase == null);
      return p;
    } catch (IOException | RuntimeException | Error e) {
      p.close();
      throw e;
    }
  }

  private Pipeline(Destination destination, Fence fence) {
    this.destination = destination;
    this.fence = fence;
  }

  /** Where the entries go, in order. */
  public ArchiveWriter archive() {
    return writer;
  }

  /**
   * Writes the metadata entry and the tar's end, drains every stage and commits the destination.
   *
   * @return the archive's size in bytes
   */
  public long finish(ArchiveMetadata metadata, EntryInfo info, Path keepMetadata) throws IOException {
    writer.finish(metadata, info, keepMetadata);
    if (encryptor != null) {
      encryptor.finish();
    }
    pipe.finish();
    long bytes = destination.commit(fence);
    finished = true;
    return bytes;
  }

  /** Unless finished: stops every stage's thread and aborts the destination. Then drops the entry list. */
  @Override
  public void close() {
    if (!finished) {
      if (encryptor != null) {
        encryptor.abort();
      }
      if (pipe != null) {
        pipe.abort();
      }
      destination.abort();
    }
    if (writer != null) {
      try {
        writer.close();
      } catch (IOException ignored) {
        // only the temporary entry list
      }
    }
  }

  /**
   * A file that appears only when complete ({@link AtomicFile}), written with O_DIRECT where
   * that pays; write errors name its directory.
   *
   * @param tag the backup's id, in the temporary's name, so the leftovers of a member that died
   *     can be found
   */
  public static Destination file(Path target, String tag) {
    AtomicFile file = AtomicFile.create(target, tag, true);
    TargetErrors stream = new TargetErrors(file.stream(), target.toAbsolutePath().getParent());
    return new Destination() {
      @Override
      public OutputStream stream() {
        return stream;
      }

      @Override
      public long commit(Fence fence) throws IOException {
        file.commit(fence);
        return Files.size(target);
      }

      @Override
      public void abort() {
        file.close();
      }
    };
  }

  /** The caller's stream (standard output), which it closes; a write error says the reader may have gone. */
  public static Destination stream(OutputStream out) {
    TargetErrors stream = new TargetErrors(out, null);
    return new Destination() {
      @Override
      public OutputStream stream() {
        return stream;
      }

      @Override
      public long commit(Fence fence) throws IOException {
        stream.flush();
        return stream.written;
      }

      @Override
      public void abort() {
        // what went out is gone; the reader sees the archive cut short
      }
    };
  }

  /** Asks the fence before every write: the writer thread never writes after the lock is lost. */
  static final class Fenced extends FilterOutputStream {
    private final Fence fence;

    Fenced(OutputStream out, Fence fence) {
      super(out);
      this.fence = fence;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      fence.check();
      out.write(b, off, len);
    }

    @Override
    public void write(int b) throws IOException {
      fence.check();
      out.write(b);
    }

    @Override
    public void close() {
      // the owner closes
    }
  }

  /** Turns write errors on the target into errors that name it (disk full, denied, reader gone). */
  static final class TargetErrors extends FilterOutputStream {
    private final Path dir;
    long written;

    TargetErrors(OutputStream out, Path dir) {
      super(out);
      this.dir = dir;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      try {
        out.write(b, off, len);
        written += len;
      } catch (IOException e) {
        throw mapped(e);
      }
    }

    @Override
    public void write(int b) throws IOException {
      try {
        out.write(b);
        written++;
      } catch (IOException e) {
        throw mapped(e);
      }
    }

    @Override
    public void flush() throws IOException {
      try {
        out.flush();
      } catch (IOException e) {
        throw mapped(e);
      }
    }

    private BackupException mapped(IOException e) {
      if (dir != null) {
        return Storage.writeFailed(dir, e);
      }
      return new BackupException(ErrorCode.TARGET_NOT_WRITABLE,
          "writing the archive to standard output failed (" + e.getMessage() + "); did the reader stop?", e);
    }

    @Override
    public void close() {
      // the owner (AtomicFile or the caller's stream) closes
    }
  }
}
