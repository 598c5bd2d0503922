package io.mkebackup.deploy.manager;

import com.hazelcast.core.HazelcastInstance;
import io.mkebackup.common.Threads;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.cluster.BackupLock;
import io.mkebackup.common.cluster.ClusterSettings;
import io.mkebackup.common.cluster.ClusterTrust;
import io.mkebackup.common.cluster.DataWhenReady;
import io.mkebackup.common.cluster.HazelcastBackupCatalog;
import io.mkebackup.common.cluster.HazelcastBackupLock;
import io.mkebackup.common.cluster.HazelcastScheduleStore;
import io.mkebackup.common.cluster.MemberProof;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.gateway.ApiGatewayVerticle;
import io.mkebackup.gateway.GatewayConfig;
import io.mkebackup.gateway.Operations;
import io.mkebackup.gateway.auth.HazelcastTokenStore;
import io.mkebackup.gateway.auth.Passwords;
import io.mkebackup.gateway.tls.ServerCertificate;
import io.mkebackup.worker.backup.ClusterRootCa;
import io.mkebackup.worker.service.BackupMetrics;
import io.mkebackup.worker.service.BackupService;
import io.mkebackup.worker.service.BackupWorkerVerticle;
import io.mkebackup.worker.service.HistoryRetention;
import io.mkebackup.worker.service.OrphanReaper;
import io.mkebackup.worker.service.ProgressPublisher;
import io.mkebackup.worker.service.Readiness;
import io.mkebackup.worker.service.Scheduler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * One manager node: a clustered Vert.x (vertx-hazelcast) holding the backup-worker and the
 * api-gateway verticles, the catalog mirrored to this node's disk, and the reaper that fails the
 * backups of members that die.
 */
public final class Manager implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Manager.class.getName());

  private final Vertx vertx;
  private final BackupService service;
  private final OrphanReaper reaper;
  private final Scheduler scheduler;
  private final HistoryRetention history;
  private final Readiness readiness;
  private final DataWhenReady data;
  /** The worker verticle's deployment (null without a worker), undeployed first when stopping. */
  private final String worker;
  private final java.time.Duration stopWait;

  private Manager(Vertx vertx, BackupService service, OrphanReaper reaper, Scheduler scheduler,
      HistoryRetention history, Readiness readiness, DataWhenReady data, String worker, java.time.Duration stopWait) {
    this.worker = worker;
    this.stopWait = stopWait;
    this.vertx = vertx;
    this.service = service;
    this.reaper = reaper;
    this.scheduler = scheduler;
    this.history = history;
    this.readiness = readiness;
    this.data = data;
  }

  /** Reads the configuration file (may be null) and this process's environment. */
  public static ManagerConfig readConfig(Path file) {
    return ManagerConfig.read(file, System.getenv(), Manager::generatedAdminPassword);
  }

  /**
   * The admin password kept in the data directory ({@code admin-password}, mode 0600): generated
   * the first time, reused after. It is written there only: standard output ends in journald or
   * {@code docker logs}, so the log names the file, never the password.
   */
  static String generatedAdminPassword(Path dataDir, String user) {
    try {
      Files.createDirectories(dataDir);
      Path file = dataDir.resolve("admin-password");
      if (!Files.exists(file)) {
        String password = Passwords.generate();
        io.mkebackup.common.io.AtomicWrite.write(file, (password + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8),
            io.mkebackup.common.io.AtomicWrite.PRIVATE);
        LOG.info("generated a password for the MKE admin user '" + user + "'; read it in " + file
            + " (readable by this user only)");
      }
      return Passwords.hash(Files.readString(file).strip().toCharArray());
    } catch (IOException e) {
      throw new IllegalStateException("cannot keep the admin password in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  public static Manager start(ManagerConfig config) throws Exception {
    Files.createDirectories(config.dataDir());
    // Containers a backup of this manager paused and did not unpause (it died mid-copy) run again
    // first; then the spools of backups that were running when this manager died (clear etcd
    // snapshots among them).
    Path spoolRoot = io.mkebackup.worker.pipeline.SpoolDirectory.root(config.backupConfig().spoolDir());
    Runnable thaw = () -> {
      try (io.mkebackup.worker.source.DockerEngine docker =
          io.mkebackup.worker.source.DockerEngine.connect(config.backupConfig().dockerHost())) {
        io.mkebackup.worker.freeze.Freezer.recover(spoolRoot, docker);
      } catch (RuntimeException e) {
        java.util.logging.Logger.getLogger(Manager.class.getName()).warning("cannot check for containers left paused"
            + " by an earlier backup: " + e.getMessage());
      }
    };
    thaw.run();
    io.mkebackup.worker.pipeline.SpoolDirectory.sweep(spoolRoot);
    List<Path> realRoots = new ArrayList<>();
    for (Path root : config.allowedRoots()) {
      realRoots.add(Files.exists(root) ? root.toRealPath() : root);
    }
    String clusterHost = clusterHost(config.bindAddress());
    ServerCertificate.Pem pem = ServerCertificate.ensure(config.tlsCert(), config.tlsKey(), config.dataDir(),
        config.nodeName(), certificateHosts(config, clusterHost));
    if (pem.generated()) {
      LOG.info("generated a self-signed HTTPS certificate in " + pem.cert());
    }
    ClusterSettings resolving = new ClusterSettings(config.clusterName(), clusterHost, config.clusterPort(),
        config.clusterMembers().isEmpty() ? List.of(clusterHost + ":" + config.clusterPort())
            : config.clusterMembers(), config.nodeName(), clusterSize(config));
    // Counted once (names in the members list resolve anew at each count, and DNS may answer
    // differently): the split-brain protection and the lock count the same managers.
    ClusterSettings settings = new ClusterSettings(resolving.clusterName(), resolving.bindHost(), resolving.port(),
        resolving.members(), resolving.nodeName(), resolving.configuredMembers());
    ClusterTrust trust = ClusterTrust.derive(ClusterRootCa.secret(config.clusterSecretFile(), "clusterSecretFile",
        config.backupConfig()));
    ForeignMembers.watch(trust.fingerprint());
    com.hazelcast.config.Config memberConfig = settings.memberConfig(trust);
    // A lite member (no partitions) until this manager is ready: see DataWhenReady.
    DataWhenReady data = DataWhenReady.configure(memberConfig);
    HazelcastClusterManager clusterManager = new HazelcastClusterManager(memberConfig);
    VertxOptions options = new VertxOptions()
        // The event bus between members carries jobs (a job's passphrase when it goes to another
        // member's worker) and progress: mutual TLS, each member with a certificate of the CA
        // derived from the cluster secret.
        .setEventBusOptions(trust.eventBusOptions(clusterHost, config.nodeName()))
        .setMetricsOptions(new io.vertx.micrometer.MicrometerMetricsOptions().setEnabled(true)
            .setJvmMetricsEnabled(true)
            .setPrometheusOptions(new io.vertx.micrometer.VertxPrometheusOptions().setEnabled(true)))
        // A backup's blocking steps never run on Vert.x threads, but executeBlocking calls reach
        // Hazelcast, which may wait for a member that is going away.
        .setMaxWorkerExecuteTime(60).setMaxWorkerExecuteTimeUnit(TimeUnit.SECONDS);
    Vertx vertx = Vertx.builder().with(options).withClusterManager(clusterManager).buildClustered()
        .toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    try {
      HazelcastInstance hazelcast = clusterManager.getHazelcastInstance();
      // Before anything counts members: which of them hold the cluster secret.
      MemberProof proof = MemberProof.of(hazelcast);
      proof.start(vertx, hazelcast);
      HazelcastBackupCatalog catalog = new HazelcastBackupCatalog(hazelcast, config.dataDir().resolve("catalog"));
      int loaded = catalog.startMirroring();
      catalog.startView();
      HazelcastScheduleStore schedules = new HazelcastScheduleStore(hazelcast, config.dataDir().resolve("schedules"));
      schedules.startMirroring();
      String node = config.nodeName();
      ProgressListener publisher = new ProgressPublisher(vertx.eventBus(), node);
      BackupLock lock = new HazelcastBackupLock(hazelcast, settings.configuredMembers());
      OrphanReaper reaper = new OrphanReaper(hazelcast, catalog, publisher, lock::hasMajority, lock::heldBy, thaw);
      reaper.start(vertx);
      // Read at each backup: Hazelcast gives a member a new id when it merges back after a split.
      java.util.function.Supplier<String> memberId = () -> hazelcast.getCluster().getLocalMember().getUuid().toString();
      BackupService service = new BackupService(config.backupConfig(), new JobRules(realRoots, config.defaultBackupDir()),
          catalog, lock, memberId, publisher);
      BackupMetrics metrics = new BackupMetrics(io.vertx.micrometer.backends.BackendRegistries.getDefaultNow(),
          catalog, lock, hazelcast);
      metrics.watch(schedules);
      service.meter(metrics);
      Readiness readiness = new Readiness(config.backupConfig(), hazelcast, lock, config.defaultBackupDir());
      // One member prunes the history: the oldest (Hazelcast lists it first), with a majority.
      HistoryRetention history = new HistoryRetention(catalog, config.history(), () -> lock.hasMajority()
          && MemberProof.provenMembers(hazelcast).get(0).localMember());
      history.start(vertx);
      Operations operations = new Operations() {
        @Override
        public java.util.concurrent.CompletionStage<JsonObject> readiness() {
          return readiness.report();
        }

        @Override
        public void refreshMetrics() {
          metrics.refresh();
        }
      };
      Scheduler scheduler = null;
      String worker = null;
      if (config.workerEnabled()) {
        worker = vertx.deployVerticle(new BackupWorkerVerticle(service)).toCompletionStage().toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
        scheduler = new Scheduler(schedules, catalog, service);
        scheduler.start(vertx);
      }
      GatewayConfig gateway = new GatewayConfig(node, AUTO.equals(config.bindAddress()) ? "0.0.0.0"
          : config.bindAddress(), config.httpsPort(), realRoots, config.defaultBackupDir(), config.users(),
          ClientCa.load(config), config.minEvery());
      ApiGatewayVerticle api = new ApiGatewayVerticle(gateway, pem, catalog, new HazelcastTokenStore(hazelcast, config.tokenTtl()),
          schedules, operations);
      // Its share of the cluster's data before its port opens: Swarm's health check only connects
      // to the port, and a rolling update stops the next manager once this one is healthy.
      data.ready();
      data.awaitData(java.time.Duration.ofSeconds(60));
      vertx.deployVerticle(api).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      LOG.info("manager " + node + " ready at https://" + clusterHost + ":" + api.actualPort() + " (cluster "
          + config.clusterName() + ", trust fingerprint " + trust.fingerprint() + " from " + trust.source()
          + ", event bus on " + clusterManager.getNodeInfo().host() + ":" + clusterManager.getNodeInfo().port()
          + " (mutual TLS), cluster members: " + MemberProof.provenMembers(hazelcast).size() + "; " + loaded
          + " records restored from " + config.dataDir().resolve("catalog") + ")");
      return new Manager(vertx, service, reaper, scheduler, history, readiness, data, worker, config.stopWait());
    } catch (Exception e) {
      data.stop();
      vertx.close();
      throw e;
    }
  }

  /**
   * clusterSize: 0 (count the members list), the number given, or for "swarm" the manager nodes of
   * the engine's Swarm (down ones included: they are still managers a majority is counted of).
   */
  static int clusterSize(ManagerConfig config) {
    String s = config.clusterSize();
    if (s == null || s.isEmpty()) {
      return 0;
    }
    if (!ManagerConfig.SWARM.equals(s)) {
      return Integer.parseInt(s);
    }
    try (io.mkebackup.worker.source.DockerEngine docker = io.mkebackup.worker.source.DockerEngine.connect(
        config.dockerHost())) {
      int managers = docker.swarmManagers();
      if (managers < 1) {
        throw io.mkebackup.common.BackupException.invalid("clusterSize", "clusterSize is swarm, but the Docker engine at " + config.dockerHost() + " is not a Swarm manager;"
                + " give the number of managers instead");
      }
      return managers;
    }
  }

  /**
   * The addresses a generated HTTPS certificate names: the cluster address, and in a Swarm the
   * node's own address, where clients reach a task that publishes its port on the node (mode host)
   * while its cluster address is on an overlay no client uses.
   */
  static List<String> certificateHosts(ManagerConfig config, String clusterHost) {
    List<String> hosts = new ArrayList<>(List.of(clusterHost));
    try (io.mkebackup.worker.source.DockerEngine docker = io.mkebackup.worker.source.DockerEngine.connect(
        config.dockerHost())) {
      String node = docker.swarmNodeAddress();
      if (node != null && !hosts.contains(node)) {
        hosts.add(node);
      }
    } catch (RuntimeException e) {
      LOG.fine("no Swarm node address for the HTTPS certificate: " + e.getMessage());
    }
    return hosts;
  }

  private void drain() throws InterruptedException {
    try {
      // Without this node's consumers, the gateways send a job to any other manager's worker.
      vertx.undeploy(worker).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      LOG.warning("stopping: the worker did not stop taking jobs: " + e.getMessage());
    }
    long started = System.nanoTime();
    LOG.info("stopping: waiting up to " + stopWait.toSeconds() + " s for a backup running here to finish");
    if (service.drain(stopWait)) {
      LOG.info("stopping: no backup runs here (waited " + java.time.Duration.ofNanos(System.nanoTime() - started)
          .toMillis() + " ms)");
    } else {
      LOG.warning("stopping: a backup still runs here after " + stopWait.toSeconds()
          + " s; the other managers will mark it FAILED");
    }
  }

  /** bindAddress "auto": HTTPS on every interface, the cluster on this host's address (containers). */
  static final String AUTO = "auto";

  static String clusterHost(String bindAddress) throws java.net.UnknownHostException {
    return AUTO.equals(bindAddress) ? java.net.InetAddress.getLocalHost().getHostAddress() : bindAddress;
  }

  /**
   * Leaves the cluster. With a stop wait ({@code stopWaitSeconds}), this member first stops
   * firing schedules and taking jobs (a job sent here goes to another manager's worker) and lets
   * the backup running here finish, for at most that long. A backup still running after it is
   * interrupted here, and the remaining members mark it FAILED.
   */
  @Override
  public void close() throws Exception {
    if (scheduler != null) {
      scheduler.close();
    }
    if (worker != null && !stopWait.isZero()) {
      drain();
    }
    history.close();
    reaper.close();
    service.close();
    readiness.close();
    data.stop();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } finally {
      // After Hazelcast: nothing renews a lease or heals a mirror of a cluster this member left.
      Threads.shutdown();
    }
  }
}
