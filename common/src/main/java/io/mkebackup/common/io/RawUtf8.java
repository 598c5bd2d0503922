package io.mkebackup.common.io;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.nio.charset.spi.CharsetProvider;
import java.util.Iterator;
import java.util.List;

/**
 * UTF-8 that keeps every byte: a byte that is not part of a valid UTF-8 sequence decodes to the
 * lone surrogate {@code U+DC80..U+DCFF} and encodes back to itself (Python's "surrogateescape",
 * PEP 383). A Linux file name is bytes; this lets one travel through Java strings, Commons
 * Compress's tar headers and the metadata byte for byte, while UTF-8 names stay readable.
 *
 * <p>Decoding is for whole names: a sequence cut short at the end of the input is kept as
 * escaped bytes, not held back for more input.
 */
public final class RawUtf8 extends Charset {
  /** The name Commons Compress is given; registered by {@link Provider}. */
  public static final String NAME = "X-MKE-UTF-8-RAW";
  static final RawUtf8 INSTANCE = new RawUtf8();

  private RawUtf8() {
    super(NAME, new String[0]);
  }

  @Override
  public boolean contains(Charset cs) {
    return cs instanceof RawUtf8 || cs.equals(StandardCharsets.UTF_8) || cs.equals(StandardCharsets.US_ASCII)
        || cs.equals(StandardCharsets.ISO_8859_1) || cs.equals(StandardCharsets.UTF_16);
  }

  @Override
  public CharsetDecoder newDecoder() {
    return new Decoder(this);
  }

  @Override
  public CharsetEncoder newEncoder() {
    return new Encoder(this);
  }

  /** Finds {@link RawUtf8} by name, for libraries that only take a charset's name. */
  public static final class Provider extends CharsetProvider {
    @Override
    public Iterator<Charset> charsets() {
      return List.<Charset>of(INSTANCE).iterator();
    }

    @Override
    public Charset charsetForName(String charsetName) {
      return NAME.equalsIgnoreCase(charsetName) ? INSTANCE : null;
    }
  }

  /** Length of the valid UTF-8 sequence at {@code p}, or 0 when the byte there must be escaped. */
  static int sequence(ByteBuffer in, int p) {
    int b0 = in.get(p) & 0xff;
    int len;
    int lo = 0x80;
    int hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      len = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      len = 3;
      lo = b0 == 0xe0 ? 0xa0 : 0x80;
      hi = b0 == 0xed ? 0x9f : 0xbf; // no encoded surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      len = 4;
      lo = b0 == 0xf0 ? 0x90 : 0x80;
      hi = b0 == 0xf4 ? 0x8f : 0xbf;
    } else {
      return 0;
    }
    if (p + len > in.limit()) {
      return 0;
    }
    int b1 = in.get(p + 1) & 0xff;
    if (b1 < lo || b1 > hi) {
      return 0;
    }
    for (int i = 2; i < len; i++) {
      int b = in.get(p + i) & 0xff;
      if (b < 0x80 || b > 0xbf) {
        return 0;
      }
    }
    return len;
  }

  private static final class Decoder extends CharsetDecoder {
    Decoder(Charset cs) {
      super(cs, 1.0f, 2.0f);
    }

    @Override
    protected CoderResult decodeLoop(ByteBuffer in, CharBuffer out) {
      while (in.hasRemaining()) {
        int p = in.position();
        int b0 = in.get(p) & 0xff;
        if (b0 < 0x80) {
          if (!out.hasRemaining()) {
            return CoderResult.OVERFLOW;
          }
          out.put((char) b0);
          in.position(p + 1);
          continue;
        }
        int len = sequence(in, p);
        if (len == 0) {
          if (!out.hasRemaining()) {
            return CoderResult.OVERFLOW;
          }
          out.put((char) (0xdc00 | b0));
          in.position(p + 1);
          continue;
        }
        int cp = b0 & (0xff >> (len + 1));
        for (int i = 1; i < len; i++) {
          cp = (cp << 6) | (in.get(p + i) & 0x3f);
        }
        if (Character.isSupplementaryCodePoint(cp)) {
          if (out.remaining() < 2) {
            return CoderResult.OVERFLOW;
          }
          out.put(Character.highSurrogate(cp));
          out.put(Character.lowSurrogate(cp));
        } else {
          if (!out.hasRemaining()) {
            return CoderResult.OVERFLOW;
          }
          out.put((char) cp);
        }
        in.position(p + len);
      }
      return CoderResult.UNDERFLOW;
    }
  }

  private static final class Encoder extends CharsetEncoder {
    Encoder(Charset cs) {
      super(cs, 1.1f, 3.0f);
    }

    @Override
    protected CoderResult encodeLoop(CharBuffer in, ByteBuffer out) {
      while (in.hasRemaining()) {
        int p = in.position();
        char c = in.get(p);
        if (c < 0x80) {
          if (!out.hasRemaining()) {
            return CoderResult.OVERFLOW;
          }
          out.put((byte) c);
          in.position(p + 1);
        } else if (c >= 0xdc80 && c <= 0xdcff) {
          if (!out.hasRemaining()) {
            return CoderResult.OVERFLOW;
          }
          out.put((byte) (c & 0xff));
          in.position(p + 1);
        } else if (Character.isHighSurrogate(c)) {
          if (p + 1 >= in.limit()) {
            return CoderResult.UNDERFLOW;
          }
          char low = in.get(p + 1);
          if (!Character.isLowSurrogate(low)) {
            return CoderResult.malformedForLength(1);
          }
          if (out.remaining() < 4) {
            return CoderResult.OVERFLOW;
          }
          int cp = Character.toCodePoint(c, low);
          out.put((byte) (0xf0 | cp >> 18)).put((byte) (0x80 | cp >> 12 & 0x3f)).put((byte) (0x80 | cp >> 6 & 0x3f))
              .put((byte) (0x80 | cp & 0x3f));
          in.position(p + 2);
        } else if (Character.isLowSurrogate(c)) {
          return CoderResult.malformedForLength(1);
        } else if (c < 0x800) {
          if (out.remaining() < 2) {
            return CoderResult.OVERFLOW;
          }
          out.put((byte) (0xc0 | c >> 6)).put((byte) (0x80 | c & 0x3f));
          in.position(p + 1);
        } else {
          if (out.remaining() < 3) {
            return CoderResult.OVERFLOW;
          }
          out.put((byte) (0xe0 | c >> 12)).put((byte) (0x80 | c >> 6 & 0x3f)).put((byte) (0x80 | c & 0x3f));
          in.position(p + 1);
        }
      }
      return CoderResult.UNDERFLOW;
    }
  }
}
