package io.mkebackup.worker.source;

import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import java.io.IOException;

/** Streams one volume's files into the archive under {@code ./<volume>/}. */
public interface VolumeSource {
  /** What one volume contributed. */
  record Copied(long files, long bytes, String via) {}

  Copied copy(DockerEngine.VolumeInfo volume, ArchiveWriter archive, ByteCounter progress) throws IOException;
}
