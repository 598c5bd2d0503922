package io.mkebackup.common.progress;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Locale;

/** The one-line text and JSON forms of a progress event, shared by the CLI and the run log. */
public final class ProgressFormat {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ProgressFormat() {}

  public static String text(ProgressEvent e) {
    StringBuilder b = new StringBuilder();
    b.append(e.at()).append(' ');
    b.append(switch (e.kind()) {
      case WARNING -> "WARN ";
      case FAILED -> "ERROR";
      default -> "INFO ";
    });
    b.append(' ');
    if (e.step() != null) {
      b.append(e.step().id());
      if (e.target() != null && !e.target().isEmpty()) {
        b.append(' ').append(e.target());
      }
      b.append(": ");
    }
    b.append(e.message());
    return b.toString();
  }

  public static String json(ProgressEvent e) {
    try {
      return JSON.writeValueAsString(e.toMap());
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException(ex);
    }
  }

  /** 1536 -> "1.5 KiB". */
  public static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
