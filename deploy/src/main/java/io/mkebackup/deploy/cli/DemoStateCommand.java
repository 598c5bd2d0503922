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
        "and data, the ucp-kv container running etcd (Debian's, mutual TLS) on its volume, ucp-auth-store running",
        "a live database writer (SQLite in WAL mode, a transaction every 30 ms) on ucp-auth-store-data, the other",
        "ucp-* containers (never started), and an admin client bundle. Existing data is never changed.",
        "Needs root (it writes into the volumes' mountpoints)."})
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

  @Option(names = "--etcd-client-port", defaultValue = "12379",
      description = "where the ucp-kv container's etcd is published on 127.0.0.1 (default ${DEFAULT-VALUE}, MKE's)")
  int clientPort;

  @Option(names = "--etcd-publish-address", paramLabel = "IP", defaultValue = "127.0.0.1",
      description = {"the host address the ucp-kv container's etcd is published on (default ${DEFAULT-VALUE});",
          "0.0.0.0 as on an MKE manager, for a manager running as a Swarm task to reach it"})
  String publishAddress;

  @Option(names = "--etcd-peer-port", defaultValue = "12380",
      description = "the port of etcd's peer URL, inside its container (default ${DEFAULT-VALUE})")
  int peerPort;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "where the client bundle is written (default /var/lib/mke-backup-demo/<prefix>)")
  Path stateDir;

  @Option(names = "--bundle-user", paramLabel = "NAME", defaultValue = "${env:MKE_ADMIN_USERNAME:-admin}",
      description = "the user the client bundle is for (default: ${DEFAULT-VALUE}; env MKE_ADMIN_USERNAME)")
  String bundleUser;

  @Option(names = "--static-auth-store", description = "make ucp-auth-store static files and a never-started"
      + " container instead of a live database writer")
  boolean staticAuthStore;

  @Option(names = "--auth-store-mib", paramLabel = "M", defaultValue = "16",
      description = "size of a new live auth store's database in MiB (default ${DEFAULT-VALUE})")
  long authStoreMib;

  @Option(names = "--auth-store-every-ms", paramLabel = "MS", defaultValue = "30",
      description = "a live auth store's pause between two transactions in ms (default ${DEFAULT-VALUE})")
  int authStoreEveryMs;

  @Option(names = "--images-only", description = "only build the images the demo runs (etcd, the live auth store)"
      + " when missing, and print their tags on standard output, one a line")
  boolean imagesOnly;

  @Option(names = "--remove", description = "remove the demo's containers (etcd included), volumes and client bundle")
  boolean remove;

  @Override
  public Integer call() throws IOException {
    if (authStoreMib < 1 || authStoreMib > 1 << 20) {
      throw io.mkebackup.common.BackupException.invalid("--auth-store-mib", "--auth-store-mib must be 1 to 1048576");
    }
    if (authStoreEveryMs < 1 || authStoreEveryMs > 60_000) {
      throw io.mkebackup.common.BackupException.invalid("--auth-store-every-ms", "--auth-store-every-ms must be 1 to"
          + " 60000");
    }
    if (etcdKeys < 0 || volumeMib < 0) {
      throw io.mkebackup.common.BackupException.invalid("--etcd-keys", "--etcd-keys and --volume-mib cannot be negative");
    }
    if (!bundleUser.matches("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")) {
      throw io.mkebackup.common.BackupException.invalid("--bundle-user", "--bundle-user must be a user name of letters,"
          + " digits and . _ @ - (at most 64)");
    }
    try {
      if (!publishAddress.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")
          || !(java.net.InetAddress.getByName(publishAddress) instanceof java.net.Inet4Address)) {
        throw new java.net.UnknownHostException(publishAddress);
      }
    } catch (java.net.UnknownHostException e) {
      throw io.mkebackup.common.BackupException.invalid("--etcd-publish-address", "--etcd-publish-address must be an"
          + " IPv4 address of this host, or 0.0.0.0 (every interface)");
    }
    Path dir = stateDir != null ? stateDir
        : Path.of("/var/lib/mke-backup-demo", prefix.isEmpty() ? "default" : prefix);
    DemoState demo = new DemoState(new DemoState.Options(dockerHost, prefix, etcdKeys, volumeMib, clientPort,
        peerPort, dir, bundleUser, staticAuthStore ? null
            : DemoState.AuthStore.ofMib(authStoreMib).everyMillis(authStoreEveryMs), publishAddress),
        spec.commandLine().getErr());
    if (remove && imagesOnly) {
      throw io.mkebackup.common.BackupException.invalid("--images-only", "--images-only and --remove cannot be"
          + " given together");
    }
    if (imagesOnly) {
      demo.ensureImages().forEach(spec.commandLine().getOut()::println);
      spec.commandLine().getOut().flush();
    } else if (remove) {
      demo.remove();
    } else {
      demo.ensure();
    }
    return 0;
  }
}
