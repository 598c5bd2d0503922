package io.mkebackup.common.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Names are kept as the bytes Linux stores, through Java strings, real directories and tar headers. */
class FileNamesTest {
  static final byte[] CAFE = "café-ü.txt".getBytes(StandardCharsets.UTF_8);
  static final byte[] BAD = {'b', 'a', 'd', (byte) 0xff, 'n', 'a', 'm', 'e'};

  @Test
  void everyByteStringSurvivesDecodingAndEncoding() {
    Random r = new Random(9);
    for (int i = 0; i < 20_000; i++) {
      byte[] b = new byte[r.nextInt(40)];
      r.nextBytes(b);
      assertThat(FileNames.encode(FileNames.decode(b))).as("round %d", i).isEqualTo(b);
    }
    // Encoded surrogates, overlong forms and sequences cut at the end are bytes, not characters.
    for (byte[] b : List.of(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, new byte[] {(byte) 0xc0, (byte) 0xaf},
        new byte[] {'a', (byte) 0xe2, (byte) 0x82}, new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80})) {
      assertThat(FileNames.encode(FileNames.decode(b))).isEqualTo(b);
      assertThat(FileNames.decode(b)).doesNotContain("\uFFFD");
    }
  }

  @Test
  void utf8NamesReadAsUnicodeAndOthersAsEscapes() {
    assertThat(FileNames.decode(CAFE)).isEqualTo("café-ü.txt");
    assertThat(FileNames.decode("a😀b".getBytes(StandardCharsets.UTF_8))).isEqualTo("a😀b");
    assertThat(FileNames.decode(BAD)).isEqualTo("bad\udcffname");
    assertThat(FileNames.printable("bad\udcffname\u001b[2J")).isEqualTo("bad\\xFFname\\x1B[2J");
  }

  @Test
  void printableCutsAtTheLengthGiven() {
    assertThat(FileNames.printable("a\nb" + "c".repeat(100), 10)).isEqualTo("a\\x0Abc...").hasSize(10);
    assertThat(FileNames.printable("short", 10)).isEqualTo("short");
  }

  @Test
  void realFilesAreCreatedAndListedByteForByte(@TempDir Path dir) throws Exception {
    for (byte[] name : List.of(CAFE, BAD)) {
      Path p = dir.resolve(FileNames.relative("sub-" + FileNames.decode(name)));
      Files.writeString(p, "x");
    }
    List<byte[]> listed = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        listed.add(FileNames.bytes(p.getFileName()));
      }
    }
    assertThat(listed).extracting(b -> FileNames.decode(b))
        .containsExactlyInAnyOrder("sub-café-ü.txt", "sub-bad\udcffname");
    // What ls sees: the raw bytes.
    Process ls = new ProcessBuilder("ls", "-1", dir.toString()).start();
    byte[] out = ls.getInputStream().readAllBytes();
    assertThat(ls.waitFor()).isZero();
    assertThat(indexOf(out, concat("sub-".getBytes(StandardCharsets.US_ASCII), BAD))).isNotNegative();
    assertThat(indexOf(out, concat("sub-".getBytes(StandardCharsets.US_ASCII), CAFE))).isNotNegative();
    assertThat(FileNames.bytes(Path.of("/"))).isEqualTo(new byte[] {'/'});
    assertThat(FileNames.bytes(dir.resolve(FileNames.relative("a/" + FileNames.decode(BAD)))))
        .isEqualTo(concat((dir + "/a/").getBytes(StandardCharsets.US_ASCII), BAD));
  }

  /** Through Commons Compress and GNU tar, long names (GNU long-name entries) included. */
  @Test
  void tarHeadersCarryTheBytes(@TempDir Path dir) throws Exception {
    String shortName = "./ucp-v/" + FileNames.decode(BAD);
    String longName = "./ucp-v/" + "d".repeat(120) + "/" + FileNames.decode(BAD) + FileNames.decode(CAFE);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes, 10240, FileNames.CHARSET_NAME)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
      for (String n : List.of(shortName, longName)) {
        TarArchiveEntry e = new TarArchiveEntry(n, TarConstants.LF_NORMAL, true);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
      }
    }
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(bytes.toByteArray()), 10240,
        512, FileNames.CHARSET_NAME, false)) {
      assertThat(tar.getNextEntry().getName()).isEqualTo(shortName);
      assertThat(tar.getNextEntry().getName()).isEqualTo(longName);
    }
    Path file = dir.resolve("t.tar");
    Files.write(file, bytes.toByteArray());
    Process list = new ProcessBuilder("tar", "--list", "--quoting-style=literal", "-f", file.toString()).start();
    byte[] out = list.getInputStream().readAllBytes();
    assertThat(list.waitFor()).isZero();
    // The expected bytes are written out, not made by FileNames.encode: a wrong encoder would make
    // both the headers and the expectation wrong alike.
    byte[] ascii = "./ucp-v/".getBytes(StandardCharsets.US_ASCII);
    byte[] dirs = ("./ucp-v/" + "d".repeat(120) + "/").getBytes(StandardCharsets.US_ASCII);
    byte[] cafe = {'c', 'a', 'f', (byte) 0xc3, (byte) 0xa9, '-', (byte) 0xc3, (byte) 0xbc, '.', 't', 'x', 't'};
    byte[] bad = {'b', 'a', 'd', (byte) 0xff, 'n', 'a', 'm', 'e'};
    assertThat(out).isEqualTo(concat(ascii, bad, new byte[] {'\n'}, dirs, bad, cafe, new byte[] {'\n'}));
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return b.toByteArray();
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
