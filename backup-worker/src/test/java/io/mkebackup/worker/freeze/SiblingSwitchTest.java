package io.mkebackup.worker.freeze;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The sibling switch's side of its standard input (what it would unpause, learnt line by line)
 * and the backup's reading of the sibling's framed output. The switch against the real engine,
 * killed mid-freeze: ContainerFreezeSwitchIT.
 */
class SiblingSwitchTest {
  static final String A = "a".repeat(64);
  static final String B = "b".repeat(64);

  @Test
  void theSwitchsOutputIsLoggedEscapedAndCut() {
    String forged = "ok\nINFO: backup b1 SUCCESS\u001b[2J";
    String logged = SiblingSwitch.outputLine("c1", forged);
    assertThat(logged).isEqualTo("dead man's switch (container c1): ok\\x0AINFO: backup b1 SUCCESS\\x1B[2J")
        .doesNotContain("\n");
    assertThat(SiblingSwitch.outputLine("c1", "x".repeat(5000))).hasSizeLessThan(1100).endsWith("...");
  }

  @Test
  void itUnpausesOnlyWhatItWasToldIsBeingPausedAndNotTakenBack() {
    SiblingSwitch.Told told = new SiblingSwitch.Told();
    ByteArrayOutputStream answers = new ByteArrayOutputStream();
    String input = SiblingSwitch.PAUSING + B + "\n" + SiblingSwitch.NOT_PAUSED + B + "\n" + SiblingSwitch.PAUSING + A
        + "\n" + SiblingSwitch.PAUSING + "not-an-id\n" + "unpause " + B + "\n";
    told.read(new ByteArrayInputStream(input.getBytes(StandardCharsets.US_ASCII)),
        new PrintStream(answers, true, StandardCharsets.US_ASCII));
    // Each line is answered, so the backup pauses only once the switch knows.
    assertThat(answers.toString(StandardCharsets.US_ASCII).lines().toList()).containsExactly(
        SiblingSwitch.NOTED + SiblingSwitch.PAUSING + B,
        SiblingSwitch.NOTED + SiblingSwitch.NOT_PAUSED + B,
        SiblingSwitch.NOTED + SiblingSwitch.PAUSING + A,
        SiblingSwitch.REFUSED + SiblingSwitch.PAUSING + "not-an-id",
        SiblingSwitch.REFUSED + "unpause " + B);
    assertThat(told.thawing()).containsExactly(A);
  }

  @Test
  void onceThawingItTakesNoMoreSoTheBackupPausesNothingMore() {
    SiblingSwitch.Told told = new SiblingSwitch.Told();
    assertThat(told.take(SiblingSwitch.PAUSING + A)).isTrue();
    assertThat(told.thawing()).containsExactly(A);
    assertThat(told.take(SiblingSwitch.PAUSING + B)).isFalse();
    assertThat(told.take(SiblingSwitch.NOT_PAUSED + A)).isFalse();
    assertThat(told.thawing()).containsExactly(A);
  }

  @Test
  void theSiblingsOutputIsReadLineByLineAcrossFramesOfBothStreams() throws Exception {
    ByteArrayOutputStream framed = new ByteArrayOutputStream();
    frame(framed, 1, "arm");
    frame(framed, 2, "Picked up JAVA_TOOL_OPTIONS\n");
    frame(framed, 1, "ed\nnoted pausing " + A + "\n");
    frame(framed, 1, "cut sho"); // the stream ends in the middle of a frame
    byte[] all = framed.toByteArray();
    List<String> lines = new ArrayList<>();
    SiblingSwitch.readLines(new ByteArrayInputStream(all, 0, all.length - 3), lines::add);
    assertThat(lines).containsExactly("Picked up JAVA_TOOL_OPTIONS", "armed", "noted pausing " + A);
  }

  static void frame(ByteArrayOutputStream out, int stream, String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    out.writeBytes(ByteBuffer.allocate(8).put((byte) stream).position(4).putInt(payload.length).array());
    out.writeBytes(payload);
  }
}
