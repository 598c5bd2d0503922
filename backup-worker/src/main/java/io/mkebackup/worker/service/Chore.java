package io.mkebackup.worker.service;

import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One job this member does from time to time (firing schedules, reaping orphans, pruning the
 * history), timed by Vert.x timers and run on a named Vert.x worker pool of one thread, so that
 * Vert.x's blocked-thread checker and metrics see it. Passes never overlap, and a pass asked for
 * while one is waiting is the same pass: a slow cluster delays the job, it does not queue it up.
 */
final class Chore implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Chore.class.getName());
  /** A pass may wait on Hazelcast for a member that is going away; warn past this. */
  static final long MAX_EXECUTE_SECONDS = 60;

  private final Vertx vertx;
  private final String name;
  private final Runnable task;
  private final WorkerExecutor pool;
  private final AtomicBoolean pending = new AtomicBoolean();
  private final Set<Long> timers = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /** @param name names the pool's thread; the task logs its own failures */
  Chore(Vertx vertx, String name, Runnable task) {
    this.vertx = vertx;
    this.name = name;
    this.task = task;
    this.pool = vertx.createSharedWorkerExecutor(name, 1, MAX_EXECUTE_SECONDS, TimeUnit.SECONDS);
  }

  /** A pass as soon as the pool is free; none when one is already waiting to start. */
  void runSoon() {
    if (closed || !pending.compareAndSet(false, true)) {
      return;
    }
    pool.executeBlocking(() -> {
      pending.set(false);
      if (!closed) {
        task.run();
      }
      return null;
    }, false).onFailure(e -> LOG.log(Level.WARNING, name + ": " + e.getMessage(), e));
  }

  /** A pass after the delay. */
  void runAfter(Duration delay) {
    if (closed) {
      return;
    }
    long[] id = new long[1];
    id[0] = vertx.setTimer(Math.max(1, delay.toMillis()), t -> {
      timers.remove(t);
      runSoon();
    });
    timers.add(id[0]);
  }

  /** A pass after {@code first}, then every {@code period}. */
  void every(Duration first, Duration period) {
    if (closed) {
      return;
    }
    timers.add(vertx.setPeriodic(Math.max(1, first.toMillis()), Math.max(1, period.toMillis()), t -> runSoon()));
  }

  /** No pass starts after this; one running ends on its own. */
  @Override
  public void close() {
    closed = true;
    timers.forEach(vertx::cancelTimer);
    timers.clear();
    pool.close();
  }
}
