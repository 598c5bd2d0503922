package io.mkebackup.common;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Where every thread of this process outside Vert.x, Hazelcast, gRPC and the Docker client comes
 * from: named for what it does (a thread dump reads as a list of jobs), a daemon (none keeps a
 * stopping JVM alive), and an exception that escapes one is logged instead of printed to stderr
 * or lost. (A task given to an executor is another matter: as with any JDK executor, what it
 * throws goes to its Future, and a periodic task that throws is not run again; such tasks catch
 * and log their own failures.) Nothing runs on the common fork-join pool, whose threads are
 * shared with every library and bear no name of ours.
 *
 * <p>The cluster's chores (lease renewals, catalog view resyncs, mirror heals) each have a
 * single-threaded scheduler, kept here by name; the manager ends them all with {@link #shutdown()}
 * when it stops. One asked for again after that starts afresh (a test that starts a second
 * manager in the same JVM).
 */
public final class Threads {
  private static final Logger LOG = Logger.getLogger(Threads.class.getName());
  private static final Map<String, ScheduledExecutorService> SCHEDULERS = new ConcurrentHashMap<>();

  private Threads() {}

  /** Daemon threads named {@code prefix-1}, {@code prefix-2}, ... */
  public static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return body -> thread(prefix + "-" + n.incrementAndGet(), body);
  }

  /** A daemon thread of that name, not started. */
  public static Thread thread(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.setUncaughtExceptionHandler((th, e) -> LOG.log(Level.SEVERE, "thread " + th.getName() + " died", e));
    return t;
  }

  /** A daemon thread of that name, started. */
  public static Thread start(String name, Runnable body) {
    Thread t = thread(name, body);
    t.start();
    return t;
  }

  /** An executor that runs each task on a new thread of that name (for one-off work). */
  public static Executor each(String name) {
    return body -> start(name, body);
  }

  /**
   * The single-threaded scheduler of that name: its tasks run one at a time, in order, so a chore
   * never races with itself.
   */
  public static ScheduledExecutorService scheduler(String name) {
    return SCHEDULERS.compute(name, (k, s) -> {
      if (s != null && !s.isShutdown()) {
        return s;
      }
      ScheduledThreadPoolExecutor created = new ScheduledThreadPoolExecutor(1, body -> thread(k, body));
      // A cancelled renewal or resync leaves the queue at once instead of at its due time.
      created.setRemoveOnCancelPolicy(true);
      return created;
    });
  }

  /**
   * Stops every scheduler of this JVM: what was queued is dropped, what runs gets up to 5 s to end.
   * One manager runs per JVM; a test that calls this ends the chores of anything else in its JVM.
   */
  public static void shutdown() {
    for (ScheduledExecutorService s : SCHEDULERS.values()) {
      s.shutdownNow();
    }
    for (Map.Entry<String, ScheduledExecutorService> e : SCHEDULERS.entrySet()) {
      try {
        if (!e.getValue().awaitTermination(5, TimeUnit.SECONDS)) {
          LOG.warning("the " + e.getKey() + " thread did not end within 5 s of the manager stopping");
        }
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
