package io.mkebackup.common.io;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.file.Path;

/**
 * File names as the bytes Linux keeps, whatever the JVM's locale. With no UTF-8 locale the JVM
 * decodes names as ASCII (and {@code -Dsun.jnu.encoding} is ignored by JDK 17), so
 * {@code Path.toString()} and {@code Path.of(String)} lose or refuse such names. A {@link Path}
 * read from a directory keeps the raw bytes, and the default provider's {@code file:} URIs
 * percent-encode them both ways; names travel as {@link RawUtf8} strings in between.
 */
public final class FileNames {
  public static final String CHARSET_NAME = RawUtf8.NAME;
  /** A directory that never exists ({@code /proc} refuses new entries), so toUri's stat finds nothing. */
  private static final Path NOWHERE = Path.of("/proc/.mke-backup-names");
  private static final String NOWHERE_URI = NOWHERE.toUri().getRawPath();
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  static {
    // Commons Compress takes the charset by name and silently falls back to the default one.
    if (!(Charset.forName(CHARSET_NAME) instanceof RawUtf8)) {
      throw new IllegalStateException("the " + CHARSET_NAME + " charset provider is not registered");
    }
  }

  private FileNames() {}

  /** The name a byte string stands for; bytes that are not UTF-8 become escapes. */
  public static String decode(byte[] bytes) {
    try {
      return RawUtf8.INSTANCE.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalStateException(e); // every byte string decodes
    }
  }

  /** The bytes of a name made by {@link #decode} (or any valid Unicode string). */
  public static byte[] encode(String name) {
    try {
      ByteBuffer b = RawUtf8.INSTANCE.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(name));
      byte[] out = new byte[b.remaining()];
      b.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("not a file name: it holds a lone surrogate", e);
    }
  }

  /** The raw bytes of a path (a name read from a directory, a link's target). */
  public static byte[] bytes(Path p) {
    boolean absolute = p.isAbsolute();
    Path relative = absolute ? p.getRoot().relativize(p) : p;
    String raw = NOWHERE.resolve(relative).toUri().getRawPath();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (absolute) {
      out.write('/');
    }
    int end = raw.length();
    if (end > NOWHERE_URI.length() + 1 && raw.charAt(end - 1) == '/') {
      end--;
    }
    for (int i = NOWHERE_URI.length() + 1; i < end; i++) {
      char c = raw.charAt(i);
      if (c == '%') {
        out.write(Integer.parseInt(raw.substring(i + 1, i + 3), 16));
        i += 2;
      } else {
        out.write(c);
      }
    }
    return out.toByteArray();
  }

  /** The name of a path's last element, as {@link #decode} gives it. */
  public static String name(Path p) {
    return decode(bytes(p.getFileName()));
  }

  /** A relative path ({@code a/b/c}) whose elements are exactly the bytes of these names. */
  public static Path relative(String path) {
    if (path.isEmpty() || path.startsWith("/")) {
      throw new IllegalArgumentException("not a relative path: " + printable(path));
    }
    StringBuilder uri = new StringBuilder("file://").append(NOWHERE_URI).append('/');
    for (byte b : encode(path)) {
      int c = b & 0xff;
      if (c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
          || c == '.') {
        uri.append((char) c);
      } else if (c == 0) {
        throw new IllegalArgumentException("a file name cannot hold a NUL byte");
      } else {
        uri.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
      }
    }
    return NOWHERE.relativize(Path.of(URI.create(uri.toString())));
  }

  /**
   * A value from outside (a name, a path, a key, a peer's message) as a message or log line may
   * quote it: as {@link #printable(String)}, cut to at most {@code max} characters.
   */
  public static String printable(String value, int max) {
    String t = printable(value);
    return t.length() <= max ? t : t.substring(0, Math.max(0, max - 3)) + "...";
  }

  /** The name for a message: escaped bytes and control characters as {@code \xNN}. */
  public static String printable(String name) {
    StringBuilder b = new StringBuilder(name.length());
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c >= 0xdc80 && c <= 0xdcff || c < 0x20 || c == 0x7f) {
        int v = c & 0xff;
        b.append("\\x").append(HEX[v >> 4]).append(HEX[v & 0xf]);
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
