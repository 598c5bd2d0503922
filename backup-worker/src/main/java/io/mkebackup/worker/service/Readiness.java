package io.mkebackup.worker.service;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.io.Storage;
import io.mkebackup.worker.engine.EngineConfig;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.EtcdClient;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Whether this manager can take a backup now, and if not which dependency is down: the cluster,
 * the Docker engine, etcd, the backup directory. Blocking; each check is bounded to a few seconds.
 */
public final class Readiness {
  private final EngineConfig engine;
  private final HazelcastInstance hazelcast;
  private final Path backupDir;

  public Readiness(EngineConfig engine, HazelcastInstance hazelcast, Path backupDir) {
    this.engine = engine;
    this.hazelcast = hazelcast;
    this.backupDir = backupDir;
  }

  /** {@code {"ready", "node", "checks": {"cluster", "docker", "etcd", "backupDirectory"}}}, each {"ok", "detail"}. */
  public JsonObject check() {
    CompletableFuture<JsonObject> cluster = CompletableFuture.supplyAsync(() -> probe(() -> {
      if (!hazelcast.getLifecycleService().isRunning()) {
        throw new IllegalStateException("not a member of the cluster");
      }
      return hazelcast.getCluster().getMembers().size() + " members";
    }));
    CompletableFuture<JsonObject> docker = CompletableFuture.supplyAsync(() -> probe(() -> {
      try (DockerEngine d = DockerEngine.connect(engine.dockerHost())) {
        return "Docker " + d.version() + " at " + engine.dockerHost();
      }
    }));
    CompletableFuture<JsonObject> etcd = CompletableFuture.supplyAsync(() -> probe(() -> {
      if (engine.etcd() == null) {
        return "not configured (ucp-kv is left out of backups)";
      }
      EngineConfig.EtcdEndpoint endpoint = io.mkebackup.worker.source.EtcdDiscovery.resolve(engine);
      try (EtcdClient c = EtcdClient.connect(endpoint)) {
        return "etcd " + c.status().getVersion() + " at " + endpoint.url();
      }
    }));
    JsonObject dir = probe(() -> {
      Storage.checkWritableDirectory(backupDir, "defaultBackupDir");
      return backupDir + " is writable";
    });
    JsonObject checks = new JsonObject()
        .put("cluster", join(cluster))
        .put("docker", join(docker))
        .put("etcd", join(etcd))
        .put("backupDirectory", dir);
    boolean ready = checks.stream().allMatch(e -> ((JsonObject) e.getValue()).getBoolean("ok"));
    return new JsonObject().put("ready", ready).put("node", engine.nodeName()).put("checks", checks);
  }

  private static JsonObject join(CompletableFuture<JsonObject> f) {
    try {
      return f.get(8, TimeUnit.SECONDS);
    } catch (Exception e) {
      return new JsonObject().put("ok", false).put("detail", "no answer within 8 s");
    }
  }

  private static JsonObject probe(Supplier<String> check) {
    try {
      return new JsonObject().put("ok", true).put("detail", check.get());
    } catch (BackupException e) {
      return new JsonObject().put("ok", false).put("detail", e.getMessage());
    } catch (RuntimeException e) {
      return new JsonObject().put("ok", false).put("detail", e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }
}
