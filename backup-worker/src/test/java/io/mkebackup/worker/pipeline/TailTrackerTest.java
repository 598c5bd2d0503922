package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

class TailTrackerTest {
  static boolean complete(byte[] stream) throws IOException {
    ArchiveVerifier.TailTracker t = new ArchiveVerifier.TailTracker(new ByteArrayInputStream(stream));
    t.transferTo(OutputStream.nullOutputStream());
    return t.endsWithTarEndBlocks();
  }

  static byte[] records(int dataRecords, int zeroRecords) {
    byte[] b = new byte[(dataRecords + zeroRecords) * 512];
    for (int r = 0; r < dataRecords; r++) {
      b[r * 512] = 'x';
    }
    return b;
  }

  @Test
  void twoZeroRecordsAfterTheLastDataRecordMakeAnEnd() throws IOException {
    assertThat(complete(records(3, 2))).isTrue();
    assertThat(complete(records(3, 18))).isTrue();
  }

  @Test
  void oneZeroRecordOrNoneIsACutStream() throws IOException {
    assertThat(complete(records(3, 1))).isFalse();
    assertThat(complete(records(3, 0))).isFalse();
  }

  @Test
  void aStreamEndingInsideARecordIsCut() throws IOException {
    byte[] whole = records(3, 2);
    assertThat(complete(java.util.Arrays.copyOf(whole, whole.length - 100))).isFalse();
  }
}
