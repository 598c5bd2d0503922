package io.mkebackup.worker.service;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.Threads;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.io.Storage;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupProcedure;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.EtcdSource;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Whether this manager can take a backup now, and if not which dependency is down: the cluster
 * (and whether it has a majority), the Docker engine, etcd, the backup directory. A report is
 * computed on a small pool of its own, each check bounded in time, at most once every few seconds
 * however many ask: readiness probes, anonymous or not, never queue up work on the threads the
 * API and the backups use.
 */
public final class Readiness implements AutoCloseable {
  /** How long a report is served before it is computed again. */
  static final Duration FRESH = Duration.ofSeconds(5);
  /** How long one check may take. */
  static final Duration CHECK_WITHIN = Duration.ofSeconds(5);

  private final BackupConfig config;
  private final HazelcastInstance hazelcast;
  private final BackupLock lock;
  private final Path backupDir;
  private final ThreadPoolExecutor pool;
  private volatile Report cached;
  private CompletableFuture<JsonObject> computing;

  private record Report(JsonObject json, long at) {}

  public Readiness(BackupConfig config, HazelcastInstance hazelcast, BackupLock lock, Path backupDir) {
    this.config = config;
    this.hazelcast = hazelcast;
    this.lock = lock;
    this.backupDir = backupDir;
    // Four checks at a time, a few more waiting; a check stuck past its time keeps its thread
    // until it returns, and a full pool answers "busy" rather than growing.
    this.pool = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(8),
        Threads.named("mke-backup-ready"));
    pool.allowCoreThreadTimeOut(true);
  }

  /**
   * {@code {"ready", "node", "checks": {"cluster", "docker", "etcd", "backupDirectory"}}}, each
   * {@code {"ok", "detail"}}: the last report when it is fresh, else the one being computed. Never
   * blocks the caller.
   */
  public CompletableFuture<JsonObject> report() {
    Report r = cached;
    if (r != null && System.nanoTime() - r.at() < FRESH.toNanos()) {
      return CompletableFuture.completedFuture(r.json());
    }
    synchronized (this) {
      if (computing != null) {
        return computing;
      }
      CompletableFuture<JsonObject> f = compute();
      computing = f;
      f.whenComplete((json, e) -> {
        if (json != null) {
          cached = new Report(json, System.nanoTime());
        }
        synchronized (this) {
          computing = null;
        }
      });
      return f;
    }
  }

  private CompletableFuture<JsonObject> compute() {
    CompletableFuture<JsonObject> cluster = check(() -> {
      if (!hazelcast.getLifecycleService().isRunning()) {
        throw new IllegalStateException("not a member of the cluster");
      }
      if (!lock.hasMajority()) {
        throw new IllegalStateException("no majority: this manager sees " + lock.membership()
            + "; backups need a majority (a network partition?)");
      }
      // A manager opens its port only once it holds its share of the data; this says so should
      // that ever not hold (it does not count toward the majority until it does).
      if (!lock.holdsData()) {
        throw new IllegalStateException("starting: this manager does not hold its share of the cluster's data yet ("
            + lock.membership() + ")");
      }
      // An unproven member is named for an admin; it does not make this manager unready (it
      // would be a way to fail every manager's probe), it does not count either.
      return lock.membership();
    });
    CompletableFuture<JsonObject> docker = check(() -> {
      try (DockerEngine d = DockerEngine.connect(config.dockerHost())) {
        return "Docker " + d.version() + " at " + config.dockerHost();
      }
    });
    CompletableFuture<JsonObject> etcd = check(() -> {
      if (config.etcd() == null) {
        return "not configured (ucp-kv is left out of backups)";
      }
      // At most the check's own time: a silent etcd must not keep the pool's threads for its
      // whole configured time-out (up to 600 s) while later reports queue behind it.
      try (EtcdSource source = BackupProcedure.connectEtcd(config.withEtcdTimeoutAtMost(CHECK_WITHIN))) {
        return "etcd " + source.status().getVersion() + " at " + source.url();
      }
    });
    CompletableFuture<JsonObject> dir = check(() -> {
      Storage.checkWritableDirectory(backupDir, "defaultBackupDir");
      return backupDir + " is writable";
    });
    return CompletableFuture.allOf(cluster, docker, etcd, dir).thenApply(v -> {
      JsonObject checks = new JsonObject()
          .put("cluster", cluster.join())
          .put("docker", docker.join())
          .put("etcd", etcd.join())
          .put("backupDirectory", dir.join());
      boolean ready = checks.stream().allMatch(e -> ((JsonObject) e.getValue()).getBoolean("ok"));
      return new JsonObject().put("ready", ready).put("node", config.nodeName()).put("checks", checks);
    });
  }

  private CompletableFuture<JsonObject> check(Supplier<String> probe) {
    try {
      return CompletableFuture.supplyAsync(() -> probe(probe), pool)
          .completeOnTimeout(failed("no answer within " + CHECK_WITHIN.toSeconds() + " s"),
              CHECK_WITHIN.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.completedFuture(failed("earlier checks have not answered yet"));
    }
  }

  private static JsonObject failed(String detail) {
    return new JsonObject().put("ok", false).put("detail", detail);
  }

  private static JsonObject probe(Supplier<String> check) {
    try {
      return new JsonObject().put("ok", true).put("detail", check.get());
    } catch (BackupException e) {
      return failed(e.getMessage());
    } catch (RuntimeException e) {
      return failed(e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
