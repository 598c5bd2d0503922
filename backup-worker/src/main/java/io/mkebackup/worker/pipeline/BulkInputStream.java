package io.mkebackup.worker.pipeline;

import java.io.IOException;
import java.io.InputStream;

/** An input stream that does its work in {@link #read(byte[], int, int)}; single bytes go through it. */
public abstract class BulkInputStream extends InputStream {
  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public abstract int read(byte[] b, int off, int len) throws IOException;
}
