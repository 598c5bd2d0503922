package io.mkebackup.deploy.it;

import io.mkebackup.deploy.demo.DemoState;
import io.mkebackup.worker.engine.EngineConfig;
import io.mkebackup.worker.engine.EngineConfig.SourceMode;
import io.mkebackup.worker.source.DockerEngine;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * A demo MKE state of a test's own: volumes and containers under a unique name prefix, and an etcd
 * on free ports, created on the real Docker engine and removed again on close.
 */
final class DemoFixture implements AutoCloseable {
  final String prefix = "it" + UUID.randomUUID().toString().substring(0, 8) + "-";
  final int clientPort = freePort();
  final int peerPort = freePort();
  final Path stateDir;
  final DemoState demo;
  final StringWriter output = new StringWriter();

  private DemoFixture(int etcdKeys, long volumeMib) throws IOException {
    stateDir = Files.createTempDirectory("mke-demo-state-");
    demo = new DemoState(new DemoState.Options(EngineConfig.DEFAULT_DOCKER_HOST, prefix, etcdKeys, volumeMib,
        clientPort, peerPort, stateDir), new PrintWriter(output, true));
  }

  static DemoFixture create(int etcdKeys, long volumeMib) throws IOException {
    DemoFixture f = new DemoFixture(etcdKeys, volumeMib);
    try {
      f.demo.ensure();
    } catch (RuntimeException | IOException e) {
      f.close();
      throw e;
    }
    return f;
  }

  String etcdUrl() {
    return "http://127.0.0.1:" + clientPort;
  }

  EngineConfig config(SourceMode mode) {
    return EngineConfig.defaults("it-node").withVolumePrefix(prefix).withSourceMode(mode)
        .withEtcd(EngineConfig.EtcdEndpoint.plain(etcdUrl()));
  }

  /** The CLI options that point a backup at this state. */
  List<String> cliOptions() {
    return List.of("--volume-prefix", prefix, "--etcd-endpoint", etcdUrl(), "--node", "it-node");
  }

  Path mountpoint(String volume) {
    try (DockerEngine docker = DockerEngine.connect(EngineConfig.DEFAULT_DOCKER_HOST)) {
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
    demo.remove();
  }
}
