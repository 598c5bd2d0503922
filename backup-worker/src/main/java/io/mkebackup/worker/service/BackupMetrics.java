package io.mkebackup.worker.service;

import com.hazelcast.core.HazelcastInstance;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.worker.run.BackupRun;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * mke-backup's own meters. Counters, the duration histogram and sizes count the backups this
 * member ran; the gauges (last success per schedule and overall, lock held, members) read the
 * cluster's state, refreshed before each scrape.
 */
public final class BackupMetrics implements BackupRun.Meter {
  private final MeterRegistry registry;
  private final BackupCatalog catalog;
  private final BackupLock lock;
  private final HazelcastInstance hazelcast;
  private final Timer duration;
  private final DistributionSummary archiveBytes;
  private final AtomicLong bytesPerSecond = new AtomicLong();
  private final AtomicLong lockHeld = new AtomicLong();
  private final AtomicLong members = new AtomicLong();
  private final AtomicLong unprovenMembers = new AtomicLong();
  private final MultiGauge lastSuccess;
  private final AtomicLong unreadableRecords = new AtomicLong();
  private final AtomicLong unreadableSchedules = new AtomicLong();
  private volatile io.mkebackup.common.cluster.ScheduleStore schedules;

  public BackupMetrics(MeterRegistry registry, BackupCatalog catalog, BackupLock lock, HazelcastInstance hazelcast) {
    this.registry = registry;
    this.catalog = catalog;
    this.lock = lock;
    this.hazelcast = hazelcast;
    this.duration = Timer.builder("mke_backup_duration").description("Duration of the backups this member ran")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(500)).maximumExpectedValue(Duration.ofHours(4))
        .register(registry);
    this.archiveBytes = DistributionSummary.builder("mke_backup_archive_bytes").baseUnit("bytes")
        .description("Size of the archives this member wrote").register(registry);
    Gauge.builder("mke_backup_last_bytes_per_second", bytesPerSecond, AtomicLong::get)
        .description("Throughput of the last backup this member ran").register(registry);
    Gauge.builder("mke_backup_lock_held", lockHeld, AtomicLong::get)
        .description("1 while a backup holds the cluster's lock").register(registry);
    Gauge.builder("mke_backup_cluster_members", members, AtomicLong::get).tag("proven", "true")
        .description("Members of the backup cluster: proven=true the managers (this one included),"
            + " proven=false Hazelcast members that have not proven they hold the cluster secret")
        .register(registry);
    Gauge.builder("mke_backup_cluster_members", unprovenMembers, AtomicLong::get).tag("proven", "false")
        .description("Members of the backup cluster: proven=true the managers (this one included),"
            + " proven=false Hazelcast members that have not proven they hold the cluster secret")
        .register(registry);
    this.lastSuccess = MultiGauge.builder("mke_backup_last_success_timestamp_seconds")
        .description("Completion time of the last successful backup: schedule=\"all\" for any, else per schedule")
        .register(registry);
    Gauge.builder("mke_backup_unreadable_entries", unreadableRecords, AtomicLong::get).tag("kind", "record")
        .description("Catalog records or schedules that cannot be read: skipped in lists and logged once with their id")
        .register(registry);
    Gauge.builder("mke_backup_unreadable_entries", unreadableSchedules, AtomicLong::get).tag("kind", "schedule")
        .description("Catalog records or schedules that cannot be read: skipped in lists and logged once with their id")
        .register(registry);
  }

  /** Counts the unreadable schedules of this store too. */
  public void watch(io.mkebackup.common.cluster.ScheduleStore store) {
    this.schedules = store;
  }

  private Counter counter(String what, String origin) {
    return Counter.builder("mke_backup_" + what).tag("origin", origin)
        .description("Backups this member " + (what.equals("attempts") ? "started" : what.equals("successes")
            ? "finished successfully" : "finished as failed")).register(registry);
  }

  private static String kind(String origin) {
    return origin.startsWith("schedule:") ? "schedule" : origin;
  }

  /** Called as a backup this member ran is accepted. */
  @Override
  public void started(BackupRecord r) {
    counter("attempts", kind(r.origin())).increment();
  }

  /** Called when a backup this member ran ends. */
  @Override
  public void finished(BackupRecord r) {
    boolean ok = r.state() == BackupState.SUCCESS;
    counter(ok ? "successes" : "failures", kind(r.origin())).increment();
    if (r.completedAt() != null) {
      Duration d = Duration.between(r.createdAt(), r.completedAt());
      duration.record(d);
      if (ok) {
        archiveBytes.record(r.archiveBytes());
        bytesPerSecond.set(d.toMillis() <= 0 ? 0 : r.archiveBytes() * 1000 / d.toMillis());
      }
    }
  }

  /** Records each freeze as {@code mke_backup_frozen_seconds{volume=...}}: what users of a paused container waited. */
  @Override
  public void frozen(java.util.Map<String, Double> secondsByVolume) {
    secondsByVolume.forEach((volume, seconds) -> DistributionSummary.builder("mke_backup_frozen")
        .baseUnit("seconds").tag("volume", volume)
        .description("How long a backup kept the containers writing a volume paused for its copy")
        .register(registry).record(seconds));
  }

  /** Reads the cluster's state into the gauges; blocking (Hazelcast calls). */
  public void refresh() {
    members.set(io.mkebackup.common.cluster.MemberProof.provenMembers(hazelcast).size());
    unprovenMembers.set(io.mkebackup.common.cluster.MemberProof.unprovenMembers(hazelcast).size());
    try {
      lockHeld.set(lock.held() ? 1 : 0);
    } catch (com.hazelcast.splitbrainprotection.SplitBrainProtectionException e) {
      lockHeld.set(0); // on the minority side of a partition: no backup runs here
    }
    Map<String, Double> last = new LinkedHashMap<>();
    var view = catalog.view();
    for (BackupRecord r : view != null ? view.records() : catalog.list()) {
      if (r.state() != BackupState.SUCCESS || r.completedAt() == null) {
        continue;
      }
      double t = r.completedAt().toEpochMilli() / 1000.0;
      last.merge("all", t, Math::max);
      if (r.origin().startsWith("schedule:")) {
        last.merge(r.origin().substring("schedule:".length()), t, Math::max);
      }
    }
    unreadableRecords.set(catalog.unreadable());
    if (schedules != null) {
      schedules.list();
      unreadableSchedules.set(schedules.unreadable());
    }
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    last.forEach((schedule, t) -> rows.add(MultiGauge.Row.of(Tags.of("schedule", schedule), t)));
    lastSuccess.register(rows, true);
  }
}
