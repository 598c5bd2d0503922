package io.mkebackup.common.schedule;

import io.mkebackup.common.BackupException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as operators write them: {@code 10s}, {@code 5m}, {@code 1h30m}, {@code 168h}, {@code 7d}. */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  public static Duration parse(String text, String field) {
    if (text == null || text.isBlank()) {
      throw BackupException.invalid(field, field + " is empty; give a duration such as 10s, 5m, 1h30m or 168h");
    }
    Matcher m = PART.matcher(text.trim());
    Duration total = Duration.ZERO;
    int at = 0;
    while (m.find() && m.start() == at) {
      long n = Long.parseLong(m.group(1));
      total = total.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      });
      at = m.end();
    }
    if (at != text.trim().length() || total.isZero()) {
      throw BackupException.invalid(field, field + " '" + text + "' is not a positive duration; write it like 10s,"
          + " 5m, 1h30m or 168h");
    }
    return total;
  }

  /** The shortest form: 90s -> "1m30s". */
  public static String format(Duration d) {
    StringBuilder b = new StringBuilder();
    long s = d.getSeconds();
    if (s >= 3600) {
      b.append(s / 3600).append('h');
      s %= 3600;
    }
    if (s >= 60) {
      b.append(s / 60).append('m');
      s %= 60;
    }
    if (s > 0 || b.length() == 0 && d.toMillisPart() == 0) {
      b.append(s).append('s');
    }
    if (d.toMillisPart() > 0) {
      b.append(d.toMillisPart()).append("ms");
    }
    return b.toString();
  }
}
