package io.mkebackup.common.schedule;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.mkebackup.common.BackupException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * When a schedule fires: five crontab fields in UTC (cron-utils, UNIX definition), or
 * {@code @every <duration>} counted from the schedule's creation.
 */
public sealed interface Cadence {
  /** The latest tick at or before {@code now}, or null if there was none yet. */
  Instant lastTick(Instant now, Instant anchor);

  /** The first tick after {@code now}. */
  Instant nextTick(Instant now, Instant anchor);

  /**
   * As {@link #parse(String, String)}, refusing an {@code @every} shorter than {@code minimum}: a
   * backup every few seconds would hold the lock and fill the disk. (Crontab fields cannot be
   * shorter than a minute.)
   */
  static Cadence parse(String spec, String field, Duration minimum) {
    Cadence c = parse(spec, field);
    if (c instanceof Every e && e.every().compareTo(minimum) < 0) {
      throw BackupException.invalid(field, field + ": @every " + Durations.format(e.every()) + " is shorter than the"
          + " minimum of " + Durations.format(minimum) + " between scheduled backups; give a longer interval");
    }
    return c;
  }

  static Cadence parse(String spec, String field) {
    if (spec == null || spec.isBlank()) {
      throw BackupException.invalid(field, field + " is required: five crontab fields in UTC (\"0 3 * * *\") or"
          + " @every <duration> (\"@every 6h\")");
    }
    String s = spec.trim();
    if (s.startsWith("@every")) {
      Duration d = Durations.parse(s.substring("@every".length()).trim(), field);
      if (d.compareTo(Duration.ofSeconds(1)) < 0) {
        throw BackupException.invalid(field, field + ": @every needs at least 1s");
      }
      return new Every(d);
    }
    try {
      var cron = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX)).parse(s);
      cron.validate();
      return new Cron(ExecutionTime.forCron(cron));
    } catch (IllegalArgumentException e) {
      throw BackupException.invalid(field, field + " '" + s + "' is not a crontab expression (" + e.getMessage()
          + "); give five fields in UTC, such as \"0 3 * * *\", or @every <duration>");
    }
  }

  /** Every fixed duration from the anchor. */
  record Every(Duration every) implements Cadence {
    @Override
    public Instant lastTick(Instant now, Instant anchor) {
      long elapsed = Duration.between(anchor, now).toMillis();
      if (elapsed < every.toMillis()) {
        return null;
      }
      return anchor.plusMillis(elapsed / every.toMillis() * every.toMillis());
    }

    @Override
    public Instant nextTick(Instant now, Instant anchor) {
      Instant last = lastTick(now, anchor);
      return (last == null ? anchor : last).plus(every);
    }
  }

  /** A crontab expression in UTC. */
  record Cron(ExecutionTime times) implements Cadence {
    @Override
    public Instant lastTick(Instant now, Instant anchor) {
      ZonedDateTime at = now.plusMillis(1).atZone(ZoneOffset.UTC);
      return times.lastExecution(at).map(ZonedDateTime::toInstant).filter(t -> !t.isBefore(anchor)).orElse(null);
    }

    @Override
    public Instant nextTick(Instant now, Instant anchor) {
      return times.nextExecution(now.atZone(ZoneOffset.UTC)).map(ZonedDateTime::toInstant).orElse(null);
    }
  }
}
