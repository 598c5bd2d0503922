package io.mkebackup.deploy.it;

import io.mkebackup.deploy.demo.DemoState;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.EtcdEndpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A demo MKE state of a test's own: volumes and containers under a unique name prefix, the
 * {@code <prefix>ucp-kv} etcd container published on a free port, created on the real Docker engine
 * and removed again on close. The one place tests learn how to reach that state: {@link #config},
 * {@link #cliOptions()} and {@link #managerEnv()} let the backup find etcd through the Docker API, as
 * it does on MKE; {@link #etcdEndpoint()} is a direct (mutual TLS) client's.
 */
final class DemoFixture implements AutoCloseable {
  final String prefix;
  final String dockerHost;
  final int clientPort = freePort();
  final int peerPort = freePort();
  final Path stateDir;
  final DemoState demo;
  final StringWriter output = new StringWriter();

  private DemoFixture(String dockerHost, String prefix, int etcdKeys, long volumeMib) throws IOException {
    this.prefix = prefix;
    this.dockerHost = dockerHost;
    stateDir = Scratch.dir("mke-demo-state-");
    demo = new DemoState(new DemoState.Options(dockerHost, prefix, etcdKeys, volumeMib,
        clientPort, peerPort, stateDir), new PrintWriter(output, true));
  }

  static DemoFixture create(int etcdKeys, long volumeMib) throws IOException {
    return create(BackupConfig.DEFAULT_DOCKER_HOST, "it" + UUID.randomUUID().toString().substring(0, 8) + "-", etcdKeys,
        volumeMib);
  }

  /**
   * The state under MKE's own names (no prefix), for commands that take no prefix, such as the
   * seed's {@code docker container run ... backup}. Only one may exist on an engine at a time, so it
   * goes on an engine of the tests' own (deploy/seed-engine.sh), never on the host's, where
   * deploy/demo.sh keeps its own.
   */
  static DemoFixture createUnprefixed(String dockerHost, int etcdKeys, long volumeMib) throws IOException {
    return create(dockerHost, "", etcdKeys, volumeMib);
  }

  private static DemoFixture create(String dockerHost, String prefix, int etcdKeys, long volumeMib)
      throws IOException {
    DemoFixture f = new DemoFixture(dockerHost, prefix, etcdKeys, volumeMib);
    try {
      f.demo.ensure();
    } catch (RuntimeException | IOException e) {
      f.close();
      throw e;
    }
    return f;
  }

  /**
   * Turns the state's ucp-auth-store into a live database writer (SQLite in WAL mode, a pair of
   * rows per transaction), as {@code demo-state} without --static-auth-store makes it.
   */
  void startAuthStoreWriter(DemoState.AuthStore authStore) throws IOException {
    DemoState.Options o = new DemoState.Options(BackupConfig.DEFAULT_DOCKER_HOST, prefix, 0, 0, clientPort, peerPort,
        stateDir, "admin", authStore);
    new DemoState(o, new PrintWriter(output, true)).ensure();
  }

  /** Where the ucp-kv container's etcd is published on the host (mutual TLS: see {@link #etcdEndpoint()}). */
  String etcdUrl() {
    return "https://127.0.0.1:" + clientPort;
  }

  /** A direct client's endpoint: the published port, with the ucp-kv-certs client certificate. */
  EtcdEndpoint etcdEndpoint() {
    return DemoState.etcdEndpoint(mountpoint("ucp-kv-certs"), clientPort);
  }

  /** The backup's configuration for this state; etcd is found through the Docker API (auto). */
  BackupConfig config(SourceMode mode) {
    return BackupConfig.defaults("it-node").withVolumePrefix(prefix).withSourceMode(mode);
  }

  /** The CLI options that point a backup at this state (etcd: auto, the default). */
  List<String> cliOptions() {
    return List.of("--volume-prefix", prefix, "--node", "it-node");
  }

  /** The environment that points a manager at this state (etcd: auto, the default). */
  Map<String, String> managerEnv() {
    return Map.of("MKE_BACKUP_VOLUME_PREFIX", prefix);
  }

  /** The admin client bundle demo-state issued (ca.pem, cert.pem, key.pem). */
  Path adminBundle() {
    return stateDir.resolve("ucp-bundle-admin");
  }

  Path mountpoint(String volume) {
    try (DockerEngine docker = DockerEngine.connect(dockerHost)) {
      return docker.ucpVolumes(prefix).stream().filter(v -> v.name().equals(volume)).findFirst().orElseThrow()
          .mountpoint();
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      demo.remove();
    } finally {
      Scratch.remove(stateDir);
    }
  }
}
