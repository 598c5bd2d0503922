package io.mkebackup.common.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.ListenerConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import com.hazelcast.core.LifecycleEvent;
import com.hazelcast.core.LifecycleListener;
import io.mkebackup.common.Threads;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A manager joins its cluster as a Hazelcast lite member, which owns no partition, and takes its
 * share of the cluster's data ({@code promoteLocalLiteMember}) once it is ready. A JVM that has just
 * started is slow for several seconds (class loading, compilation; longer on a small manager that
 * also runs a backup): had it taken partitions when it joined, every read of an entry it then owned
 * waited for it, the backup lock among them, and a running backup's lease renewals, which read the
 * lock, could run past the lease's term (a rolling update on the Swarm lab lost a scheduled backup's
 * lease while a task that had joined just before it was still starting). A member that finds no
 * data member in its cluster (the first manager, or the only one left) takes data at once: nothing
 * else can hold it.
 *
 * <p>Checked when the member starts, when a member leaves, when it is {@link #ready()}, and every
 * {@value #CHECK_SECONDS} s from its start until it holds data (a promotion that failed, say while
 * the master changed, is asked again; a member that merges back after a split keeps its kind). The
 * manager waits for it ({@link #awaitData}) before it opens its port, which is all Swarm's health
 * check looks at: a rolling update stops the next manager only once this one counts.
 * Hazelcast's split-brain protection counts data members only, and so does
 * {@link HazelcastBackupLock#hasMajority()}: a manager that is starting does not count yet.
 */
public final class DataWhenReady implements LifecycleListener, MembershipListener, HazelcastInstanceAware {
  private static final Logger LOG = Logger.getLogger(DataWhenReady.class.getName());
  static final int CHECK_SECONDS = 2;
  /** Failed promotions in a row after which each further one is a warning, not a fine line. */
  private static final int WARN_AFTER = 5;

  private volatile HazelcastInstance hazelcast;
  private volatile boolean ready;
  private volatile boolean stopped;
  private final java.util.concurrent.atomic.AtomicReference<ScheduledFuture<?>> checks =
      new java.util.concurrent.atomic.AtomicReference<>();
  private int failures;

  /** Makes {@code config}'s member join as a lite member, watched by a new instance of this class. */
  public static DataWhenReady configure(Config config) {
    DataWhenReady d = new DataWhenReady();
    config.setLiteMember(true);
    config.addListenerConfig(new ListenerConfig(d));
    return d;
  }

  private DataWhenReady() {}

  @Override
  public void setHazelcastInstance(HazelcastInstance hazelcast) {
    this.hazelcast = hazelcast;
  }

  /** Started (joined): with no data member in the cluster, this one takes data before anything reads it. */
  @Override
  public void stateChanged(LifecycleEvent event) {
    if (event.getState() == LifecycleEvent.LifecycleState.STARTED) {
      check();
      startChecks();
    }
  }

  @Override
  public void memberAdded(MembershipEvent event) {
    // nothing: a member joining does not change what this one should hold
  }

  @Override
  public void memberRemoved(MembershipEvent event) {
    if (hazelcast != null) {
      scheduler().execute(this::check);
    }
  }

  /** This manager is ready: it takes its share of the data now. */
  public void ready() {
    ready = true;
    scheduler().execute(this::check);
    startChecks();
  }

  /**
   * Waits until this member holds data, for at most {@code within}.
   *
   * @throws IllegalStateException when it does not by then (the manager does not start)
   */
  public void awaitData(java.time.Duration within) throws InterruptedException {
    long until = System.nanoTime() + within.toNanos();
    while (!holdsData()) {
      if (System.nanoTime() - until > 0) {
        throw new IllegalStateException("this manager could not take its share of the cluster's data within "
            + within.toSeconds() + " s (see the warnings above); it does not start");
      }
      Thread.sleep(100); // the promotion runs on the checks' thread; nothing to wait on here
    }
  }

  /** Stops the checks (the manager is stopping); never waits for a promotion under way. */
  public void stop() {
    stopped = true;
    ScheduledFuture<?> c = checks.get();
    if (c != null) {
      c.cancel(false);
    }
  }

  private synchronized void startChecks() {
    ScheduledFuture<?> c = checks.get();
    if (!stopped && (c == null || c.isDone())) {
      checks.set(scheduler().scheduleWithFixedDelay(this::check, CHECK_SECONDS, CHECK_SECONDS, TimeUnit.SECONDS));
    }
  }

  /** Whether this member holds data (is not a lite member). */
  public boolean holdsData() {
    HazelcastInstance hz = hazelcast;
    return hz != null && !hz.getCluster().getLocalMember().isLiteMember();
  }

  private static ScheduledExecutorService scheduler() {
    return Threads.scheduler("mke-backup-data-when-ready");
  }

  private synchronized void check() {
    HazelcastInstance hz = hazelcast;
    if (stopped || hz == null || !hz.getLifecycleService().isRunning()) {
      return;
    }
    if (!hz.getCluster().getLocalMember().isLiteMember()) {
      ScheduledFuture<?> c = checks.get();
      if (c != null) {
        c.cancel(false); // it keeps its kind from now on, merges included
      }
      return;
    }
    boolean noData = hz.getCluster().getMembers().stream().allMatch(Member::isLiteMember);
    if (!ready && !noData) {
      return;
    }
    try {
      hz.getCluster().promoteLocalLiteMember();
      failures = 0;
      LOG.info("this manager now holds its share of the cluster's data ("
          + (ready ? "it is ready" : "no other member holds any") + ")");
    } catch (RuntimeException e) {
      // Asked again at the next check (a promotion already under way, a master changing, ...).
      failures++;
      String line = "cannot take a share of the cluster's data yet (" + failures + " tries): " + e;
      if (failures == WARN_AFTER || failures % 30 == 0) { // then once a minute
        LOG.warning(line + "; until it does, it counts toward no majority");
      } else {
        LOG.fine(line);
      }
    }
  }
}
