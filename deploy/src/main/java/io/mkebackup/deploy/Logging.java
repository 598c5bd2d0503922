package io.mkebackup.deploy;

import java.io.PrintStream;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * java.util.logging set up once per process: the CLI logs nothing (its stderr carries progress
 * lines) unless debugging; the manager logs one line per record to stderr.
 */
public final class Logging {
  /** Held strongly: java.util.logging keeps loggers weakly, and a collected logger loses its level. */
  private static final Logger OURS = Logger.getLogger("io.mkebackup");
  /** Says at every start that CP structures are "unsafe"; mke-backup uses none (see BackupLock). */
  private static final Logger CP = Logger.getLogger("com.hazelcast.cp.CPSubsystem");

  private Logging() {}

  /** The CLI: silent, or everything at FINE with --debug. */
  public static void cli(boolean debug) {
    configure(debug ? Level.FINE : Level.OFF, debug ? Level.INFO : Level.OFF, System.err);
  }

  /** The manager: our INFO, the libraries' WARNING. */
  public static void manager() {
    configure(Level.INFO, Level.WARNING, System.err);
  }

  private static void configure(Level ours, Level libraries, PrintStream out) {
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    root.setLevel(libraries);
    OURS.setLevel(ours);
    CP.setLevel(Level.SEVERE);
    Handler h = new StreamHandler(out, new OneLine()) {
      @Override
      public synchronized void publish(LogRecord record) {
        super.publish(record);
        flush();
      }

      /** Flushes only: closing would close stderr itself (reset() closes every handler). */
      @Override
      public synchronized void close() {
        flush();
      }
    };
    h.setLevel(Level.ALL);
    root.addHandler(h);
  }

  /**
   * java.util.logging's manager in this process. The JDK's own shutdown hook resets every handler
   * while ours still run: a manager stopped (SIGTERM) that lets its backup finish would say nothing
   * of it. Our handler flushes each record and never closes stderr, so nothing is lost by skipping
   * that reset; any other reset (ours, in {@link #configure}) goes through.
   */
  public static final class KeepToTheEnd extends LogManager {
    public KeepToTheEnd() {
      super();
    }

    @Override
    public void reset() {
      if (Thread.currentThread().getClass().getName().equals("java.util.logging.LogManager$Cleaner")) {
        return;
      }
      super.reset();
    }
  }

  /** {@code 2026-11-25T03:45:00.123Z INFO BackupService: message}, then the stack trace if any. */
  static final class OneLine extends Formatter {
    @Override
    public String format(LogRecord r) {
      String logger = r.getLoggerName() == null ? "" : r.getLoggerName().substring(r.getLoggerName().lastIndexOf('.') + 1);
      StringBuilder b = new StringBuilder()
          .append(Instant.ofEpochMilli(r.getMillis())).append(' ')
          .append(r.getLevel().getName()).append(' ')
          .append(logger).append(": ")
          .append(formatMessage(r)).append('\n');
      if (r.getThrown() != null) {
        java.io.StringWriter s = new java.io.StringWriter();
        r.getThrown().printStackTrace(new java.io.PrintWriter(s));
        b.append(s);
      }
      return b.toString();
    }
  }
}
