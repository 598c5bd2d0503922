package io.mkebackup.worker.backup;

import io.mkebackup.common.Passphrase;
import io.mkebackup.common.progress.ProgressEvent;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.worker.pipeline.AtomicFile;
import io.mkebackup.worker.pipeline.openpgp.PgpEncryptingOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The log of one run, written beside the archive ({@code --include-logs}), encrypted like it and
 * born complete like it: it appears only when the archive does.
 */
final class RunLog implements ProgressListener, AutoCloseable {
  private final AtomicFile file;
  private final OutputStream out;
  private final PgpEncryptingOutputStream encrypted;

  RunLog(Path path, Passphrase passphrase, String tag) throws IOException {
    file = AtomicFile.create(path, tag);
    encrypted = passphrase == null ? null
        : new PgpEncryptingOutputStream(file.stream(), passphrase, path.getFileName().toString());
    out = encrypted == null ? file.stream() : encrypted;
  }

  @Override
  public void onEvent(ProgressEvent event) {
    try {
      out.write((ProgressFormat.text(event) + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void commit() throws IOException {
    if (encrypted != null) {
      encrypted.finish();
    }
    file.commit();
  }

  @Override
  public void close() {
    file.close();
  }
}
