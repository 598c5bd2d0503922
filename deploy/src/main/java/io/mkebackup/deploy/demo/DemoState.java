package io.mkebackup.deploy.demo;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectVolumeResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.Volume;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.ProductInfo;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.tls.Certificates;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.EtcdClient;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Creates a realistic MKE manager state on the local Docker engine: the ucp-* named volumes with
 * real certificates and data files, the {@code ucp-kv} container running a real etcd (Debian's) on
 * that volume with mutual TLS (ucp-kv-certs), as MKE runs it, the other ucp-* component containers
 * (created, never started), and an admin client bundle. It only creates what is missing and never
 * changes existing files, so it also starts etcd on a restored ucp-kv without touching it.
 */
public final class DemoState {
  /** Label on every volume and container this class creates. */
  public static final String LABEL = "io.mkebackup.demo";

  static final List<String> CERT_VOLUMES = List.of("ucp-auth-api-certs", "ucp-auth-store-certs",
      "ucp-auth-worker-certs", "ucp-controller-client-certs", "ucp-controller-server-certs", "ucp-kv-certs",
      "ucp-node-certs");
  static final List<String> DATA_VOLUMES = List.of("ucp-auth-store-data", "ucp-auth-worker-data");
  static final List<String> ALL_VOLUMES = List.of("ucp-auth-api-certs", "ucp-auth-store-certs",
      "ucp-auth-store-data", "ucp-auth-worker-certs", "ucp-auth-worker-data", "ucp-client-root-ca",
      "ucp-cluster-root-ca", "ucp-controller-client-certs", "ucp-controller-server-certs", "ucp-kv",
      "ucp-kv-certs", "ucp-metrics-data", "ucp-node-certs", "ucp-backup");
  /** Where MKE's containers mount their volumes: {@code /var/lib/docker/ucp/<volume>}. */
  static final String UCP_DIR = "/var/lib/docker/ucp/";
  /** etcd's client port inside the ucp-kv container (published on 127.0.0.1:etcdClientPort). */
  static final int KV_CLIENT_PORT = 2379;
  /**
   * Component containers that are created, never started, and the volumes each mounts (MKE's
   * layout, abridged); ucp-kv is created apart, as a running etcd.
   */
  static final Map<String, List<String>> CONTAINERS = new LinkedHashMap<>();

  static {
    CONTAINERS.put("ucp-agent", List.of("ucp-node-certs"));
    CONTAINERS.put("ucp-auth-api", List.of("ucp-auth-api-certs"));
    CONTAINERS.put("ucp-auth-store", List.of("ucp-auth-store-certs", "ucp-auth-store-data"));
    CONTAINERS.put("ucp-auth-worker", List.of("ucp-auth-worker-certs", "ucp-auth-worker-data"));
    CONTAINERS.put("ucp-controller", List.of("ucp-controller-server-certs", "ucp-controller-client-certs",
        "ucp-client-root-ca", "ucp-cluster-root-ca", "ucp-backup"));
    CONTAINERS.put("ucp-metrics", List.of("ucp-metrics-data"));
  }

  /**
   * @param prefix prepended to every volume and container name (tests use one each)
   * @param etcdKeys Kubernetes-shaped keys to write into a fresh etcd
   * @param volumeMib grow each backed-up data volume to at least this many MiB (0: leave as is)
   * @param etcdClientPort where the ucp-kv container's etcd is published on 127.0.0.1
   * @param etcdPeerPort the port etcd's peer URL names (inside its container; a single member has no peers)
   * @param stateDir where the admin client bundle is written
   * @param bundleUser the user the client bundle is for (the manager's admin)
   * @param etcdPublishAddress the host address etcd's client port is published on: 127.0.0.1 (a
   *     development host), or 0.0.0.0 as MKE publishes ucp-kv's 12379 on a manager node, which a
   *     manager running as a Swarm task needs to reach it from its own network
   */
  public record Options(String dockerHost, String prefix, int etcdKeys, long volumeMib, int etcdClientPort,
      int etcdPeerPort, Path stateDir, String bundleUser, AuthStore authStore, String etcdPublishAddress) {
    public Options(String dockerHost, String prefix, int etcdKeys, long volumeMib, int etcdClientPort,
        int etcdPeerPort, Path stateDir) {
      this(dockerHost, prefix, etcdKeys, volumeMib, etcdClientPort, etcdPeerPort, stateDir, "admin");
    }

    /** A state whose auth store is static files (byte-for-byte tests need a volume nobody writes). */
    public Options(String dockerHost, String prefix, int etcdKeys, long volumeMib, int etcdClientPort,
        int etcdPeerPort, Path stateDir, String bundleUser) {
      this(dockerHost, prefix, etcdKeys, volumeMib, etcdClientPort, etcdPeerPort, stateDir, bundleUser, null, "127.0.0.1");
    }

    /** A state with the given auth store, etcd published on 127.0.0.1. */
    public Options(String dockerHost, String prefix, int etcdKeys, long volumeMib, int etcdClientPort,
        int etcdPeerPort, Path stateDir, String bundleUser, AuthStore authStore) {
      this(dockerHost, prefix, etcdKeys, volumeMib, etcdClientPort, etcdPeerPort, stateDir, bundleUser, authStore,
          "127.0.0.1");
    }

    public String etcdUrl() {
      return "https://127.0.0.1:" + etcdClientPort;
    }

    /** The directory of the admin client bundle. */
    public Path bundleDir() {
      return stateDir.resolve("ucp-bundle-" + bundleUser);
    }
  }

  /**
   * The {@code ucp-auth-store} container as a live database writer (see {@link AuthStoreImage}).
   *
   * @param seedPairs pairs of rows a new database starts with and keeps (its size: about
   *     {@code 2 * seedPairs * rowBytes})
   * @param rowBytes the random blob in each row
   * @param pauseMicros between two transactions: a modest, steady rate, never a core
   */
  public record AuthStore(int seedPairs, int rowBytes, int pauseMicros) {
    /** About 16 MiB, 30 transactions a second (some 250 KB/s). */
    public static final AuthStore DEFAULT = new AuthStore(2048, 4096, 30_000);

    public AuthStore {
      if (seedPairs < 1 || rowBytes < 1 || pauseMicros < 1000) {
        throw io.mkebackup.common.BackupException.invalid("--auth-store-mib", "the auth store needs at least one pair,"
            + " one byte a row and 1 ms between transactions");
      }
    }

    /** A database of about {@code mib} MiB at the default rate and row size. */
    public static AuthStore ofMib(long mib) {
      return new AuthStore((int) Math.max(1, (mib << 20) / (2L * DEFAULT.rowBytes())), DEFAULT.rowBytes(),
          DEFAULT.pauseMicros());
    }

    /** This store, one transaction every {@code millis} ms. */
    public AuthStore everyMillis(int millis) {
      return new AuthStore(seedPairs, rowBytes, Math.multiplyExact(millis, 1000));
    }
  }

  private final Options o;
  private final PrintWriter out;

  public DemoState(Options options, PrintWriter out) {
    this.o = options;
    this.out = out;
  }

  /**
   * Builds the images the demo runs (ucp-kv's etcd, the live auth store) on the engine when missing,
   * and nothing else: for an engine whose demo-state runs in the product's own container, which has
   * neither etcd nor sqlite3 to build them from (the Swarm lab saves them into its nodes).
   *
   * @return their tags
   */
  public List<String> ensureImages() throws IOException {
    try (Docker docker = Docker.connect(o.dockerHost())) {
      return List.of(EtcdImage.ensure(docker.raw(), out), AuthStoreImage.ensure(docker.raw(), out));
    }
  }

  public void ensure() throws IOException {
    try (Docker docker = Docker.connect(o.dockerHost())) {
      docker.engine().ensureHelperImage(BackupConfig.DEFAULT_HELPER_IMAGE);
      Certificates.Issued clusterCa = null;
      Certificates.Issued clientCa = null;
      // Root CAs first: the component certificates are signed by them.
      List<String> order = new ArrayList<>(List.of("ucp-cluster-root-ca", "ucp-client-root-ca"));
      ALL_VOLUMES.stream().filter(v -> !order.contains(v)).forEach(order::add);
      for (String name : order) {
        Path mount = volume(docker, name);
        if (!isEmpty(mount)) {
          continue;
        }
        switch (name) {
          case "ucp-cluster-root-ca", "ucp-client-root-ca" -> {
            Certificates.Issued ca = Certificates.rootCa(name.equals("ucp-cluster-root-ca")
                ? "UCP Cluster Root CA" : "UCP Client Root CA");
            write(mount, "cert.pem", ca.certPem(), "rw-r--r--", 0);
            write(mount, "key.pem", ca.keyPem(), "rw-------", 0);
            out.println("created " + name + " (root CA)");
          }
          case "ucp-auth-store-data" -> {
            if (o.authStore() == null) {
              authStoreData(mount);
              out.println("created " + name);
            } // else the writer creates its database
          }
          case "ucp-auth-worker-data" -> {
            authWorkerData(mount);
            out.println("created " + name);
          }
          case "ucp-metrics-data" -> {
            Path wal = Files.createDirectories(mount.resolve("prometheus/wal"));
            writeRandom(wal.resolve("00000001"), 2 << 20, 1, 0);
            out.println("created " + name);
          }
          default -> {
            if (CERT_VOLUMES.contains(name)) {
              clusterCa = clusterCa != null ? clusterCa : readCa(docker, "ucp-cluster-root-ca");
              clientCa = clientCa != null ? clientCa : readCa(docker, "ucp-client-root-ca");
              // ucp-kv's certificate also names its container, the name it is reached by.
              Certificates.Issued c = Certificates.component(name.replace("-certs", ""), clusterCa,
                  name.equals("ucp-kv-certs") ? List.of(o.prefix() + "ucp-kv") : List.of());
              write(mount, "ca.pem", Certificates.pemOf(clusterCa.certificate()), "rw-r--r--", 0);
              write(mount, "cert.pem", c.certPem(), "rw-r--r--", 0);
              write(mount, "key.pem", c.keyPem(), "rw-------", 0);
              if (name.equals("ucp-controller-server-certs") || name.equals("ucp-auth-api-certs")) {
                write(mount, "client_ca.pem", Certificates.pemOf(clientCa.certificate()), "rw-r--r--", 0);
              }
              out.println("created " + name + " (certificates)");
            }
          }
        }
      }
      if (o.volumeMib() > 0) {
        for (String name : DATA_VOLUMES) {
          grow(name, volume(docker, name), o.volumeMib() << 20);
        }
      }
      containers(docker);
      startEtcd(docker);
      if (o.authStore() != null) {
        startAuthStore(docker);
      }
      clientBundle(docker, o.bundleUser(), o.bundleDir());
    }
    out.flush();
  }

  /**
   * A client bundle for a user, like MKE's "download client bundle": {@code cert.pem} (the user's
   * name as its subject, signed by ucp-client-root-ca), {@code key.pem}, and {@code ca.pem}, the
   * cluster root CA that MKE's server certificates chain to; every file 0600. Kept when it is still
   * signed by the current client root CA.
   */
  public Path clientBundle(String user, Path dir) throws IOException {
    try (Docker docker = Docker.connect(o.dockerHost())) {
      return clientBundle(docker, user, dir);
    }
  }

  private Path clientBundle(Docker docker, String user, Path dir) throws IOException {
    Certificates.Issued clientCa = readCa(docker, "ucp-client-root-ca");
    Path cert = dir.resolve("cert.pem");
    if (Files.exists(cert) && Files.exists(dir.resolve("key.pem")) && Files.exists(dir.resolve("ca.pem"))) {
      try {
        Certificates.parse(Files.readString(cert), Files.readString(dir.resolve("key.pem"))).certificate()
            .verify(clientCa.certificate().getPublicKey());
        out.println("client bundle for " + user + " in " + dir);
        return dir;
      } catch (java.security.GeneralSecurityException | RuntimeException stale) {
        // issued by an earlier demo's CA: issue it again
      }
    }
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Certificates.Issued issued = Certificates.client(user, clientCa, Duration.ofDays(365));
    String clusterCa = Files.readString(volume(docker, "ucp-cluster-root-ca").resolve("cert.pem"));
    write(dir, "ca.pem", clusterCa, "rw-------", 0);
    write(dir, "cert.pem", issued.certPem(), "rw-------", 0);
    write(dir, "key.pem", issued.keyPem(), "rw-------", 0);
    out.println("issued a client bundle for " + user + " in " + dir + " (ca.pem, cert.pem, key.pem)");
    return dir;
  }

  /** Stops the demo etcd and removes the demo's containers and volumes. */
  public void remove() throws IOException {
    stopEtcd(); // an etcd process of a demo made by an earlier version
    if (Files.isDirectory(o.bundleDir())) {
      for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
        Files.deleteIfExists(o.bundleDir().resolve(f));
      }
      Files.deleteIfExists(o.bundleDir());
    }
    try (Docker docker = Docker.connect(o.dockerHost())) {
      for (Container c : docker.raw().listContainersCmd().withShowAll(true)
          .withLabelFilter(Map.of(LABEL, o.prefix().isEmpty() ? "default" : o.prefix())).exec()) {
        docker.engine().removeContainer(c.getId());
        out.println("removed container " + String.join(",", c.getNames()));
      }
      // Helper containers of backups that were killed mid-run hold volumes too.
      for (Container c : docker.raw().listContainersCmd().withShowAll(true)
          .withLabelFilter(List.of(DockerEngine.HELPER_LABEL)).exec()) {
        for (String n : c.getNames()) {
          if (n.startsWith("/" + o.prefix() + "mke-backup-helper-")) {
            docker.engine().removeContainer(c.getId());
          }
        }
      }
      for (String name : ALL_VOLUMES) {
        try {
          docker.raw().removeVolumeCmd(o.prefix() + name).exec();
          out.println("removed volume " + o.prefix() + name);
        } catch (NotFoundException gone) {
          // already gone
        }
      }
    }
    out.flush();
  }

  private Path volume(Docker docker, String name) {
    String full = o.prefix() + name;
    InspectVolumeResponse v;
    try {
      v = docker.raw().inspectVolumeCmd(full).exec();
    } catch (NotFoundException missing) {
      docker.raw().createVolumeCmd().withName(full)
          .withLabels(Map.of(LABEL, o.prefix().isEmpty() ? "default" : o.prefix())).exec();
      v = docker.raw().inspectVolumeCmd(full).exec();
    }
    Path mount = Path.of(v.getMountpoint());
    if (!Files.isWritable(mount)) {
      throw new BackupException(ErrorCode.TARGET_NOT_WRITABLE, "demo-state writes into " + mount
          + " and needs root for it; run it with sudo");
    }
    return mount;
  }

  private static boolean isEmpty(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.findFirst().isEmpty();
    }
  }

  private Certificates.Issued readCa(Docker docker, String name) throws IOException {
    Path mount = volume(docker, name);
    return Certificates.parse(Files.readString(mount.resolve("cert.pem")), Files.readString(mount.resolve("key.pem")));
  }

  private static void write(Path dir, String name, String content, String perms, int uid) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, content, StandardCharsets.US_ASCII);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
    Files.setAttribute(p, "unix:uid", uid);
    Files.setAttribute(p, "unix:gid", uid);
  }

  private static void writeRandom(Path p, long size, long seed, int uid) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    byte[] buf = new byte[1 << 20];
    try (OutputStream os = Files.newOutputStream(p)) {
      for (long left = size; left > 0; ) {
        for (int i = 0; i < buf.length; i += 8) {
          long v = r.nextLong();
          for (int k = 0; k < 8; k++) {
            buf[i + k] = (byte) (v >>> (8 * k));
          }
        }
        int n = (int) Math.min(buf.length, left);
        os.write(buf, 0, n);
        left -= n;
      }
    }
    Files.setAttribute(p, "unix:uid", uid);
    Files.setAttribute(p, "unix:gid", uid);
  }

  /** RethinkDB-shaped: a metadata file, a log file and table files, owned by uid 999 as in MKE's image. */
  private static void authStoreData(Path mount) throws IOException {
    Path data = Files.createDirectories(mount.resolve("rethinkdb_data"));
    Files.setAttribute(data, "unix:uid", 999);
    Files.writeString(data.resolve("metadata"), "{\"cluster_id\":\"" + UUID.randomUUID() + "\",\"server\":\"ucp-auth-store\"}\n");
    writeRandom(data.resolve("log_file"), 1 << 20, 11, 999);
    for (int i = 0; i < 4; i++) {
      writeRandom(data.resolve(UUID.nameUUIDFromBytes(new byte[] {(byte) i}).toString()), (i + 1) * 512 * 1024L, 20 + i, 999);
    }
    Files.createSymbolicLink(data.resolve("current_log"), Path.of("log_file"));
  }

  private static void authWorkerData(Path mount) throws IOException {
    Path sync = Files.createDirectories(mount.resolve("sync"));
    Files.writeString(sync.resolve("state.json"), "{\"lastSync\":\"2026-01-01T00:00:00Z\",\"ldap\":{\"enabled\":false}}\n");
    Files.writeString(sync.resolve("teams.json"), "[{\"org\":\"engineering\",\"team\":\"platform\",\"members\":12}]\n");
    Files.createSymbolicLink(sync.resolve("latest"), Path.of("state.json"));
    Files.createDirectories(mount.resolve("empty-dir"));
  }

  /** Adds bulk files until the volume holds at least {@code target} bytes; existing files stay as they are. */
  private void grow(String name, Path mount, long target) throws IOException {
    long have = Sizes.onDisk(mount);
    if (have >= target) {
      return;
    }
    Path bulk = Files.createDirectories(mount.resolve("bulk"));
    long fileSize = 64L << 20;
    int i = 0;
    while (have < target) {
      Path f;
      do {
        f = bulk.resolve(String.format("bulk-%05d.dat", i++));
      } while (Files.exists(f));
      long n = Math.min(fileSize, target - have);
      writeRandom(f, n, f.hashCode(), 0);
      have += n;
    }
    out.println("grew " + name + " to " + ProgressFormat.bytes(have));
  }

  private void containers(Docker docker) {
    for (var c : CONTAINERS.entrySet()) {
      if (o.authStore() != null && c.getKey().equals(AUTH_STORE)) {
        continue; // runs the writer: startAuthStore
      }
      String full = o.prefix() + c.getKey();
      try {
        docker.raw().inspectContainerCmd(full).exec();
        continue;
      } catch (NotFoundException missing) {
        // create below
      }
      List<Bind> binds = new ArrayList<>();
      for (String v : c.getValue()) {
        binds.add(new Bind(o.prefix() + v, new Volume("/var/lib/docker/ucp/" + v)));
      }
      docker.raw().createContainerCmd(BackupConfig.DEFAULT_HELPER_IMAGE)
          .withName(full)
          .withCmd("/bin/" + c.getKey())
          .withEnv("UCP_VERSION=" + ProductInfo.version(), "UCP_COMPONENT=" + c.getKey())
          .withLabels(Map.of(LABEL, o.prefix().isEmpty() ? "default" : o.prefix(),
              "com.docker.ucp.version", ProductInfo.version(), "com.docker.ucp.InstanceID", "demo"))
          .withHostConfig(HostConfig.newHostConfig().withBinds(binds))
          .exec();
      out.println("created container " + full);
    }
  }

  static final String AUTH_STORE = "ucp-auth-store";

  /**
   * Runs {@code <prefix>ucp-auth-store} as a live database writer on ucp-auth-store-data
   * (read-write) and ucp-auth-store-certs (read-only), replacing a never-started one of an earlier
   * demo; waits until its database has its first pairs.
   */
  private void startAuthStore(Docker docker) throws IOException {
    String name = o.prefix() + AUTH_STORE;
    String image = AuthStoreImage.ensure(docker.raw(), out);
    AuthStore a = o.authStore();
    String[] cmd = {UCP_DIR + "ucp-auth-store-data", String.valueOf(a.seedPairs()), String.valueOf(a.rowBytes()),
        String.valueOf(a.pauseMicros())};
    InspectContainerResponse c = null;
    try {
      c = docker.raw().inspectContainerCmd(name).exec();
      // Another image, or another rate or size: made again (the database in the volume stays).
      if (!image.equals(c.getConfig().getImage()) || !java.util.Arrays.equals(cmd, c.getConfig().getCmd())) {
        docker.engine().removeContainer(c.getId());
        out.println("replaced container " + name);
        c = null;
      }
    } catch (NotFoundException missing) {
      // created below
    }
    if (c == null) {
      docker.raw().createContainerCmd(image)
          .withName(name)
          .withCmd(cmd)
          .withEnv("UCP_VERSION=" + ProductInfo.version(), "UCP_COMPONENT=" + AUTH_STORE)
          .withLabels(Map.of(LABEL, o.prefix().isEmpty() ? "default" : o.prefix(),
              "com.docker.ucp.version", ProductInfo.version(), "com.docker.ucp.InstanceID", "demo"))
          .withHostConfig(HostConfig.newHostConfig()
              .withBinds(new Bind(o.prefix() + "ucp-auth-store-data", new Volume(UCP_DIR + "ucp-auth-store-data")),
                  new Bind(o.prefix() + "ucp-auth-store-certs", new Volume(UCP_DIR + "ucp-auth-store-certs"),
                      AccessMode.ro)))
          .exec();
      out.println("created container " + name + " (SQLite in WAL mode, a pair of rows every "
          + a.pauseMicros() / 1000 + " ms, " + image + ")");
      c = docker.raw().inspectContainerCmd(name).exec();
    }
    if (Boolean.TRUE.equals(c.getState().getPaused())) {
      out.println("container " + name + " is paused (left as it is)");
      return;
    }
    if (!Boolean.TRUE.equals(c.getState().getRunning())) {
      docker.raw().startContainerCmd(name).exec();
    }
    Path db = volume(docker, "ucp-auth-store-data").resolve(AuthStoreImage.DATABASE + "-wal");
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5); // a large seed takes a while
    while (!Files.exists(db)) {
      var state = docker.raw().inspectContainerCmd(name).exec().getState();
      if (!Boolean.TRUE.equals(state.getRunning()) || System.nanoTime() > deadline) {
        throw new BackupException(ErrorCode.INTERNAL, "the auth store in container " + name + " did not start writing"
            + " (exit code " + state.getExitCodeLong() + "); see docker logs " + name);
      }
      try {
        Thread.sleep(100); // its first transaction: nothing else to wait on
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    out.println("the auth store writes in container " + name + " (" + AuthStoreImage.DATABASE + " on "
        + o.prefix() + "ucp-auth-store-data)");
  }

  private Path pidFile() {
    return o.stateDir().resolve("etcd.pid");
  }

  /**
   * Runs etcd as the {@code <prefix>ucp-kv} container, as MKE does: its data in the ucp-kv volume
   * ({@code datav3}), mutual TLS with the ucp-kv-certs certificates, published on 127.0.0.1 and
   * reachable from other containers over the Docker network. A fresh store gets the demo's keys.
   */
  private void startEtcd(Docker docker) throws IOException {
    String name = o.prefix() + "ucp-kv";
    Path certs = volume(docker, "ucp-kv-certs");
    Path dataDir = volume(docker, "ucp-kv").resolve("datav3");
    boolean fresh = !Files.isDirectory(dataDir.resolve("member"));
    String image = EtcdImage.ensure(docker.raw(), out);
    InspectContainerResponse c = null;
    try {
      c = docker.raw().inspectContainerCmd(name).exec();
      if (!image.equals(c.getConfig().getImage()) || !publishedOn(c, o.etcdPublishAddress())) {
        // made by an earlier demo (never started, another etcd, published elsewhere): etcd's data is in
        // the volume, not here
        docker.engine().removeContainer(c.getId());
        out.println("replaced container " + name);
        c = null;
      }
    } catch (NotFoundException missing) {
      // created below
    }
    if (c == null) {
      String peer = "http://127.0.0.1:" + o.etcdPeerPort();
      String tls = UCP_DIR + "ucp-kv-certs/";
      docker.raw().createContainerCmd(image)
          .withName(name)
          .withCmd("--name", name, "--data-dir", UCP_DIR + "ucp-kv/datav3",
              "--listen-client-urls", "https://0.0.0.0:" + KV_CLIENT_PORT, "--advertise-client-urls", o.etcdUrl(),
              "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
              "--initial-cluster", name + "=" + peer, "--initial-cluster-token", name,
              "--cert-file", tls + "cert.pem", "--key-file", tls + "key.pem", "--trusted-ca-file", tls + "ca.pem",
              "--client-cert-auth")
          .withEnv("UCP_VERSION=" + ProductInfo.version(), "UCP_COMPONENT=ucp-kv")
          .withLabels(Map.of(LABEL, o.prefix().isEmpty() ? "default" : o.prefix(),
              "com.docker.ucp.version", ProductInfo.version(), "com.docker.ucp.InstanceID", "demo"))
          .withExposedPorts(ExposedPort.tcp(KV_CLIENT_PORT))
          .withHostConfig(HostConfig.newHostConfig()
              .withBinds(new Bind(o.prefix() + "ucp-kv", new Volume(UCP_DIR + "ucp-kv")),
                  new Bind(o.prefix() + "ucp-kv-certs", new Volume(UCP_DIR + "ucp-kv-certs"), AccessMode.ro))
              .withPortBindings(new PortBinding(Ports.Binding.bindIpAndPort(o.etcdPublishAddress(), o.etcdClientPort()),
                  ExposedPort.tcp(KV_CLIENT_PORT))))
          .exec();
      out.println("created container " + name + " (etcd, " + image + ")");
      c = docker.raw().inspectContainerCmd(name).exec();
    }
    if (!Boolean.TRUE.equals(c.getState().getRunning())) {
      try {
        docker.raw().startContainerCmd(name).exec();
      } catch (com.github.dockerjava.api.exception.DockerException e) {
        docker.engine().removeContainer(c.getId());
        throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "cannot start etcd in container " + name + " ("
            + e.getMessage().strip() + "); is 127.0.0.1:" + o.etcdClientPort() + " taken? pick another"
            + " --etcd-client-port", e);
      }
    }
    int port = publishedPort(docker, name);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!etcdAnswers(certs, port)) {
      var state = docker.raw().inspectContainerCmd(name).exec().getState();
      if (!Boolean.TRUE.equals(state.getRunning())) {
        throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd in container " + name + " exited at start (exit"
            + " code " + state.getExitCodeLong() + "); see docker logs " + name);
      }
      if (System.nanoTime() > deadline) {
        throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd in container " + name + " did not answer on"
            + " 127.0.0.1:" + port + " within 30 s; see docker logs " + name);
      }
      try {
        Thread.sleep(200); // etcd starting in its container: nothing to wait on but its port
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    out.println("etcd runs in container " + name + ", https://127.0.0.1:" + port + " (mutual TLS, ucp-kv-certs), on "
        + dataDir);
    if (fresh) {
      putKeys(certs, port);
    }
  }

  private static boolean publishedOn(InspectContainerResponse c, String address) {
    var bindings = c.getHostConfig() == null || c.getHostConfig().getPortBindings() == null ? null
        : c.getHostConfig().getPortBindings().getBindings().get(ExposedPort.tcp(KV_CLIENT_PORT));
    return bindings != null && java.util.Arrays.stream(bindings).anyMatch(b -> address.equals(b.getHostIp()));
  }

  private static int publishedPort(Docker docker, String name) {
    var ports = docker.raw().inspectContainerCmd(name).exec().getNetworkSettings().getPorts().getBindings()
        .get(ExposedPort.tcp(KV_CLIENT_PORT));
    if (ports == null || ports.length == 0) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "container " + name + " publishes no port for etcd;"
          + " remove it (demo-state --remove) and run demo-state again");
    }
    return Integer.parseInt(ports[0].getHostPortSpec());
  }

  /** A client of the demo's etcd over mutual TLS, as MKE's components reach it. */
  public static EtcdEndpoint etcdEndpoint(Path kvCerts, int port) {
    return new EtcdEndpoint("https://127.0.0.1:" + port, kvCerts.resolve("ca.pem"),
        kvCerts.resolve("cert.pem"), kvCerts.resolve("key.pem"), Duration.ofSeconds(5));
  }

  private static boolean etcdAnswers(Path certs, int port) {
    try (EtcdClient c = EtcdClient.connect(etcdEndpoint(certs, port))) {
      c.status();
      return true;
    } catch (BackupException e) {
      return false;
    }
  }

  private void putKeys(Path certs, int port) {
    String[] kinds = {"pods", "deployments", "replicasets", "services", "configmaps", "secrets"};
    String[] namespaces = {"default", "kube-system", "ucp-system", "engineering"};
    try (EtcdClient c = EtcdClient.connect(etcdEndpoint(certs, port))) {
      for (int i = 0; i < o.etcdKeys(); i++) {
        String kind = kinds[i % kinds.length];
        String ns = namespaces[(i / kinds.length) % namespaces.length];
        String name = kind.substring(0, kind.length() - 1) + "-" + i;
        String json = "{\"apiVersion\":\"" + (kind.equals("deployments") || kind.equals("replicasets") ? "apps/v1" : "v1")
            + "\",\"kind\":\"" + Character.toUpperCase(kind.charAt(0)) + kind.substring(1, kind.length() - 1)
            + "\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"" + ns + "\",\"uid\":\""
            + UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)) + "\",\"labels\":{\"app\":\"demo\"}},"
            + "\"spec\":{\"replicas\":" + (i % 5 + 1) + "}}";
        c.put("/registry/" + kind + "/" + ns + "/" + name, json);
      }
    }
    out.println("wrote " + o.etcdKeys() + " Kubernetes-shaped keys into etcd");
  }

  private void stopEtcd() throws IOException {
    Path pid = pidFile();
    if (!Files.exists(pid)) {
      return;
    }
    long p = Long.parseLong(Files.readString(pid).trim());
    ProcessHandle.of(p).ifPresent(h -> {
      h.destroy();
      try {
        h.onExit().get(15, TimeUnit.SECONDS);
      } catch (Exception e) {
        h.destroyForcibly();
      }
      out.println("stopped etcd (pid " + p + ")");
    });
    Files.deleteIfExists(pid);
  }

  /**
   * The Docker engine, twice: the backup's facade for what a backup does too, and a raw client of
   * the demo's own for what only the demo does (MKE-like volumes, containers and an etcd image).
   */
  private record Docker(DockerEngine engine, DockerClient raw) implements AutoCloseable {
    static Docker connect(String host) {
      DockerEngine engine = DockerEngine.connect(host);
      try {
        return new Docker(engine, DockerEngine.rawClient(host));
      } catch (RuntimeException e) {
        engine.close();
        throw e;
      }
    }

    @Override
    public void close() {
      try {
        raw.close();
      } catch (java.io.IOException ignored) {
        // the demo is done with the engine either way
      } finally {
        engine.close();
      }
    }
  }
}
