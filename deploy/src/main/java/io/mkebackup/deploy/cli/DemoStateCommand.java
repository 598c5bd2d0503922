package io.mkebackup.deploy.cli;

import io.mkebackup.deploy.demo.DemoState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code mke-backup demo-state}: a realistic MKE manager state on the local Docker engine. */
@Command(name = "demo-state", mixinStandardHelpOptions = true,
    description = {"Creates what is missing of a demo MKE manager state: the ucp-* volumes with real certificates",
        "and data, an etcd serving ucp-kv from its volume, and the ucp-* containers (never started).",
        "Existing data is never changed. Needs root (it writes into the volumes' mountpoints)."})
public final class DemoStateCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--docker-host", paramLabel = "URL",
      defaultValue = "${env:MKE_BACKUP_DOCKER_HOST:-unix:///var/run/docker.sock}")
  String dockerHost;

  @Option(names = "--prefix", paramLabel = "PREFIX", defaultValue = "${env:MKE_BACKUP_VOLUME_PREFIX:-}",
      description = "prefix for every volume and container name (default none)")
  String prefix;

  @Option(names = "--etcd-keys", paramLabel = "N", defaultValue = "500",
      description = "Kubernetes-shaped keys written into a fresh etcd (default ${DEFAULT-VALUE})")
  int etcdKeys;

  @Option(names = "--volume-mib", paramLabel = "M", defaultValue = "0",
      description = "grow each backed-up data volume (ucp-auth-store-data, ucp-auth-worker-data) to at least M MiB")
  long volumeMib;

  @Option(names = "--etcd-client-port", defaultValue = "12379", description = "default ${DEFAULT-VALUE} (MKE's)")
  int clientPort;

  @Option(names = "--etcd-peer-port", defaultValue = "12380", description = "default ${DEFAULT-VALUE}")
  int peerPort;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "where the demo etcd's pid file and log live (default /var/lib/mke-backup-demo/<prefix>)")
  Path stateDir;

  @Option(names = "--remove", description = "stop the demo etcd and remove the demo volumes and containers")
  boolean remove;

  @Override
  public Integer call() throws IOException {
    if (etcdKeys < 0 || volumeMib < 0) {
      throw io.mkebackup.common.BackupException.invalid("--etcd-keys", "--etcd-keys and --volume-mib cannot be negative");
    }
    Path dir = stateDir != null ? stateDir
        : Path.of("/var/lib/mke-backup-demo", prefix.isEmpty() ? "default" : prefix);
    DemoState demo = new DemoState(new DemoState.Options(dockerHost, prefix, etcdKeys, volumeMib, clientPort,
        peerPort, dir), spec.commandLine().getErr());
    if (remove) {
      demo.remove();
    } else {
      demo.ensure();
    }
    return 0;
  }
}
