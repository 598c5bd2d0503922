package io.mkebackup.worker.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Random;

/** For tests of buffered writers: writes bytes in uneven pieces and single bytes, so buffers fill across calls. */
public final class UnevenWrites {
  private UnevenWrites() {}

  public static void write(OutputStream out, byte[] data) throws IOException {
    Random cuts = new Random(7);
    int off = 0;
    while (off < data.length) {
      if (cuts.nextInt(10) == 0) {
        out.write(data[off++]);
        continue;
      }
      int n = Math.min(data.length - off, 1 + cuts.nextInt(300_000));
      out.write(data, off, n);
      off += n;
    }
  }
}
