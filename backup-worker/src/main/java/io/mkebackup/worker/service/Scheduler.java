package io.mkebackup.worker.service;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.ScheduleStore;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.common.schedule.Schedule;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Fires the cluster's schedules. Every member with a worker looks twice a second; the member
 * whose compare-and-set on a schedule's {@code lastTick} wins a tick runs that tick's backup, so
 * each tick fires once in the cluster, also after the member that fired the last one died. A tick
 * that finds another backup running is recorded as a FAILED backup with the seed's message. After
 * a schedule's backup succeeds, its retention removes that schedule's older files.
 */
public final class Scheduler implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Scheduler.class.getName());
  /** A tick missed by more than this (the whole cluster was down) is skipped, not fired late. */
  static final Duration LATE = Duration.ofSeconds(30);
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private final ScheduleStore schedules;
  private final BackupCatalog catalog;
  private final Backups service;
  private Chore chore;
  /** Held for a whole pass; see {@link #pass}. */
  private final Object passing = new Object();
  private volatile boolean closed;

  /**
   * What the scheduler asks of this member's backup service: {@link BackupService} in a manager; a
   * stand-in in the unit tests, which run no backup and need no Docker engine.
   */
  interface Backups {
    /** Whether this member sees a majority of the configured managers. */
    boolean hasMajority();

    String node();

    String memberId();

    JobRules rules();

    /** As {@link BackupService#start(BackupJob, Consumer)}. */
    CompletableFuture<BackupRecord> start(BackupJob job, Consumer<BackupRecord> finished);
  }

  public Scheduler(ScheduleStore schedules, BackupCatalog catalog, BackupService service) {
    this(schedules, catalog, new Backups() {
      @Override
      public boolean hasMajority() {
        return service.hasMajority();
      }

      @Override
      public String node() {
        return service.node();
      }

      @Override
      public String memberId() {
        return service.memberId();
      }

      @Override
      public JobRules rules() {
        return service.rules();
      }

      @Override
      public CompletableFuture<BackupRecord> start(BackupJob job, Consumer<BackupRecord> finished) {
        return service.start(job, finished);
      }
    });
  }

  Scheduler(ScheduleStore schedules, BackupCatalog catalog, Backups service) {
    this.schedules = schedules;
    this.catalog = catalog;
    this.service = service;
  }

  /** Looks twice a second, on a worker pool of its own. */
  public synchronized void start(Vertx vertx) {
    chore = new Chore(vertx, "mke-backup-scheduler", () -> pass(Instant.now()));
    chore.every(Duration.ofMillis(500), Duration.ofMillis(500));
  }

  /**
   * One pass of the chore: a look, unless closed. {@link #close} waits for a pass in progress, so a
   * tick this member claimed has started its backup (which a stopping manager then lets finish)
   * before the manager stops taking jobs: a claimed tick is never dropped on the way out.
   */
  void pass(Instant now) {
    synchronized (passing) {
      if (closed) {
        return;
      }
      try {
        look(now);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "schedules: " + e.getMessage(), e);
      }
    }
  }

  /** One look at every schedule; fires the ticks this member wins. */
  void look(Instant now) {
    // On the minority side of a partition the other side fires the ticks: claiming one here too
    // would record it twice once the sides merge.
    if (!service.hasMajority()) {
      return;
    }
    for (Schedule s : schedules.list()) {
      if (closed) {
        return;
      }
      if (s.paused()) {
        continue;
      }
      try {
        Instant tick = s.cadence().lastTick(now, s.createdAt());
        if (tick == null || tick.toEpochMilli() <= s.lastTick() || !schedules.claim(s, tick.toEpochMilli())) {
          continue;
        }
        if (Duration.between(tick, now).compareTo(LATE) > 0) {
          LOG.info("schedule " + s.id() + ": tick " + tick + " missed while no manager ran; waiting for the next");
          continue;
        }
        fire(s, tick);
      } catch (RuntimeException e) {
        // One schedule's trouble never stops the others.
        LOG.log(Level.WARNING, "schedule " + s.id() + ": " + e.getMessage(), e);
      }
    }
  }

  private void fire(Schedule s, Instant tick) {
    String id = UUID.randomUUID().toString();
    String fileName = s.fileNamePrefix() + "-" + STAMP.format(tick) + ".tar";
    String logName = s.includeLogs() ? logNameFor(fileName) : "";
    Passphrase passphrase = null;
    try {
      if (!s.noPassphrase()) {
        passphrase = readPassphrase(s.passphraseFile());
      }
    } catch (BackupException e) {
      record(s, tick, id, fileName, logName, e.getMessage());
      return;
    }
    BackupJob job = new BackupJob(id, passphrase, fileName, logName, Path.of(s.hostPath()), s.origin(),
        tick.toEpochMilli());
    LOG.info("schedule " + s.id() + ": tick " + tick + " fires backup " + id + " (" + fileName + ")");
    try {
      service.start(job, finished -> {
        if (finished.state() == BackupState.SUCCESS) {
          retention(s);
        }
      }).join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      String why = cause instanceof BackupException b && b.code() == ErrorCode.BACKUP_RUNNING
          ? "skipped: " + cause.getMessage() : String.valueOf(cause.getMessage());
      record(s, tick, id, fileName, logName, why);
      LOG.info("schedule " + s.id() + ": tick " + tick + " " + why);
    }
  }

  /** A tick that could not run, recorded as a FAILED backup so it shows in the history. */
  private void record(Schedule s, Instant tick, String id, String fileName, String logName, String why) {
    catalog.put(BackupRecord.inProgress(id, !s.noPassphrase(), fileName, logName, s.hostPath(), service.node(),
        service.memberId(), s.origin()).withTick(tick.toEpochMilli()).failed(why));
  }

  /**
   * Removes the files of this schedule's older successful backups: beyond the newest
   * {@code keepLast}, or older than {@code maxAge}; never the newest successful one, never a file
   * another schedule or a person made. Each pruned record says when. Only files in the
   * schedule's hostPath, checked again against this member's rules, whose names are the ones this
   * schedule gives its backups ({@link #names}) are considered: a record (cluster state) that
   * names any other file is not acted on.
   */
  List<BackupRecord> retention(Schedule s) {
    return retention(s, Instant.now());
  }

  /** As {@link #retention(Schedule)}, at {@code now} (the clock a test sets). */
  List<BackupRecord> retention(Schedule s, Instant now) {
    List<BackupRecord> pruned = new ArrayList<>();
    if (s.keepLast() == null && s.maxAge() == null) {
      return pruned;
    }
    Path dir;
    try {
      dir = service.rules().hostPath(s.hostPath());
    } catch (BackupException e) {
      LOG.warning("schedule " + s.id() + ": retention skipped: " + e.getMessage());
      return pruned;
    }
    Pattern names = names(s);
    List<BackupRecord> mine = catalog.list().stream()
        .filter(r -> r.origin().equals(s.origin()) && r.state() == BackupState.SUCCESS && r.prunedAt() == null)
        .filter(r -> r.backupPath().equals(dir.toString()) && names.matcher(r.fileName()).matches()
            && (r.logFileName().isEmpty() || r.logFileName().equals(logNameFor(r.fileName()))))
        .toList(); // newest first
    for (int i = 1; i < mine.size(); i++) {
      BackupRecord r = mine.get(i);
      boolean beyond = s.keepLast() != null && i >= s.keepLast();
      boolean old = s.maxAge() != null && r.createdAt().isBefore(now.minus(s.maxAge()));
      if (!beyond && !old) {
        continue;
      }
      // Relative to the open directory: a link swapped in for it meanwhile leads nowhere else.
      try (io.mkebackup.common.io.ShareDirectory share = io.mkebackup.common.io.ShareDirectory.open(dir)) {
        share.delete(r.fileName());
        if (!r.logFileName().isEmpty()) {
          share.delete(r.logFileName());
        }
        BackupRecord p = r.pruned(now);
        catalog.put(p);
        catalog.removeContents(r.id());
        pruned.add(p);
      } catch (IOException | IllegalArgumentException e) {
        LOG.warning("schedule " + s.id() + ": cannot remove " + dir.resolve(r.fileName()) + ": " + e.getMessage());
      }
    }
    if (!pruned.isEmpty()) {
      LOG.info("schedule " + s.id() + " retention removed " + pruned.stream().map(BackupRecord::fileName).toList());
    }
    return pruned;
  }

  /** The names of a schedule's archives: {@code <fileNamePrefix>-<tick as 20261125T030000Z>.tar}. */
  static Pattern names(Schedule s) {
    return Pattern.compile(Pattern.quote(s.fileNamePrefix()) + "-\\d{8}T\\d{6}Z\\.tar");
  }

  private static String logNameFor(String fileName) {
    return fileName.substring(0, fileName.length() - 4) + ".log";
  }

  /** The passphrase in a file the operator names (a Docker secret, say): first line, read at each run. */
  static Passphrase readPassphrase(String file) {
    if (file == null) {
      throw BackupException.invalid("passphraseFile", "passphraseFile is not set and noPassphrase is false");
    }
    return Passphrase.fromFile(Path.of(file), "passphraseFile");
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (chore != null) {
      chore.close();
    }
    synchronized (passing) {
      // a pass in progress has ended: its claimed ticks have started
    }
  }
}
