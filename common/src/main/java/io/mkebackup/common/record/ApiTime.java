package io.mkebackup.common.record;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** The API's times: RFC 3339 in UTC with milliseconds, and MKE's zero time for "not yet". */
public final class ApiTime {
  /** What {@code completed_at} says until a backup completes. */
  public static final String ZERO = "0001-01-01T00:00:00Z";

  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private ApiTime() {}

  public static String format(Instant t) {
    return t == null ? ZERO : FORMAT.format(t);
  }

  public static Instant parse(String s) {
    return s == null || s.isEmpty() || ZERO.equals(s) ? null : Instant.parse(s);
  }
}
