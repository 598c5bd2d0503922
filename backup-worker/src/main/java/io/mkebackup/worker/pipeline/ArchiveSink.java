package io.mkebackup.worker.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * Receives the volume entries of an archive while {@link ArchiveVerifier} reads it, each once it
 * has passed the checks that do not need the rest of the archive (its name, its type, its place
 * beneath a directory, its link target), and each file's bytes as they are hashed. Nothing it
 * receives is proved until {@code verify} returns: a restore stages them and uses them only then.
 */
public interface ArchiveSink {
  /** A directory; {@code path} is "" for the volume's root. */
  void directory(String volume, String path, TarArchiveEntry entry) throws IOException;

  /** A regular file: the stream gets its bytes and is closed after the last one. */
  OutputStream file(String volume, String path, TarArchiveEntry entry) throws IOException;

  /** A second name of {@code target}, a regular file received before in the same volume. */
  void hardlink(String volume, String path, String target, TarArchiveEntry entry) throws IOException;

  /** A symbolic link whose target stays inside the volume. */
  void symlink(String volume, String path, String target, TarArchiveEntry entry) throws IOException;

  /** The etcd snapshot: the stream gets its bytes and is closed after the last one. */
  OutputStream snapshot(String entry, long size) throws IOException;
}
