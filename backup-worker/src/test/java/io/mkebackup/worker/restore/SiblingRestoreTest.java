package io.mkebackup.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The relay of a sibling restore's output: the engine's multiplexed frames, as dockerd writes them. */
class SiblingRestoreTest {
  static void frame(ByteArrayOutputStream out, int stream, String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    out.writeBytes(new byte[] {(byte) stream, 0, 0, 0, (byte) (b.length >>> 24), (byte) (b.length >>> 16),
        (byte) (b.length >>> 8), (byte) b.length});
    out.writeBytes(b);
  }

  @Test
  void stderrLinesAreRelayedWholeAndStdoutGivesTheExitCode() throws IOException {
    ByteArrayOutputStream s = new ByteArrayOutputStream();
    frame(s, 2, "verify: reading");
    frame(s, 2, " the archive once\nvolume x: wri");
    frame(s, 2, "ting\n");
    frame(s, 1, SiblingRestore.EXIT_LINE + "1\n");
    frame(s, 2, "mke-backup: error: no\n");
    List<String> lines = new ArrayList<>();
    Integer exit = SiblingRestore.relayOutput(new ByteArrayInputStream(s.toByteArray()), lines::add);
    assertThat(lines).containsExactly("verify: reading the archive once", "volume x: writing",
        "mke-backup: error: no");
    assertThat(exit).isEqualTo(1);
  }

  @Test
  void aStreamThatEndsWithoutTheExitLineHasNoResult() throws IOException {
    ByteArrayOutputStream s = new ByteArrayOutputStream();
    frame(s, 1, "something else\n");
    frame(s, 2, "cut in the midd");
    byte[] b = s.toByteArray();
    List<String> lines = new ArrayList<>();
    // cut inside a frame's header too
    assertThat(SiblingRestore.relayOutput(new ByteArrayInputStream(b, 0, b.length - 2), lines::add)).isNull();
    assertThat(lines).containsExactly("cut in the mi");
    frame(s, 1, SiblingRestore.EXIT_LINE + "0; rm -rf /\n");
    assertThat(SiblingRestore.relayOutput(new ByteArrayInputStream(s.toByteArray()), l -> {})).isNull();
  }
}
