package io.mkebackup.deploy.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The configuration file and the environment read straight into the record, a variable winning. */
class ManagerConfigReadTest {
  static final BiFunction<Path, String, String> NO_GENERATED_PASSWORD = (dir, user) -> "hash-of-" + user;

  @TempDir
  Path dir;

  Path file(String json) throws IOException {
    return Files.writeString(dir.resolve("manager.json"), json);
  }

  @Test
  void aVariableWinsOverTheFileAndAnEmptyOneDoesNot() throws IOException {
    Path f = file("{\"nodeName\": \"from-file\", \"clusterPort\": 5801, \"httpsPort\": 9443,"
        + " \"dataDir\": \"" + dir + "\", \"defaultBackupDir\": \"" + dir + "\"}");
    ManagerConfig c = ManagerConfig.read(f, Map.of("MKE_BACKUP_CLUSTER_PORT", "5901", "MKE_BACKUP_NODE_NAME", "",
        "UNRELATED", "x"), NO_GENERATED_PASSWORD);
    assertThat(c.nodeName()).isEqualTo("from-file");
    assertThat(c.clusterPort()).isEqualTo(5901);
    assertThat(c.httpsPort()).isEqualTo(9443);
  }

  @Test
  void withoutAFileTheEnvironmentAlone() {
    ManagerConfig c = ManagerConfig.read(null, Map.of("MKE_BACKUP_NODE_NAME", "env-node",
        "MKE_BACKUP_DATA_DIR", dir.toString(), "MKE_BACKUP_DEFAULT_DIR", dir.toString()), NO_GENERATED_PASSWORD);
    assertThat(c.nodeName()).isEqualTo("env-node");
    assertThat(c.dataDir()).isEqualTo(dir);
  }

  @Test
  void aBadVariableIsNamedWithItsKey() throws IOException {
    Path f = file("{\"dataDir\": \"" + dir + "\"}");
    assertThatThrownBy(() -> ManagerConfig.read(f, Map.of("MKE_BACKUP_CLUSTER_PORT", "many"), NO_GENERATED_PASSWORD))
        .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.field()).isEqualTo("clusterPort"))
        .hasMessage("clusterPort (MKE_BACKUP_CLUSTER_PORT) must be a number, not 'many'");
  }

  @Test
  void etcdsTimeOutIsThirtySecondsOrWhatIsConfiguredFromOneTo600() {
    Map<String, String> base = Map.of("MKE_BACKUP_DATA_DIR", dir.toString(), "MKE_BACKUP_DEFAULT_DIR", dir.toString());
    assertThat(ManagerConfig.read(null, base, NO_GENERATED_PASSWORD).etcd().timeout())
        .isEqualTo(java.time.Duration.ofSeconds(30));
    Map<String, String> env = new java.util.HashMap<>(base);
    env.put("MKE_BACKUP_ETCD_TIMEOUT_SECONDS", "90");
    assertThat(ManagerConfig.read(null, env, NO_GENERATED_PASSWORD).etcd().timeout())
        .isEqualTo(java.time.Duration.ofSeconds(90));
    for (String bad : new String[] {"0", "601", "-5"}) {
      env.put("MKE_BACKUP_ETCD_TIMEOUT_SECONDS", bad);
      assertThatThrownBy(() -> ManagerConfig.read(null, env, NO_GENERATED_PASSWORD)).as(bad)
          .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.field()).isEqualTo("etcdTimeoutSeconds"))
          .hasMessage("etcdTimeoutSeconds (MKE_BACKUP_ETCD_TIMEOUT_SECONDS) must be a number of seconds from 1 to 600,"
              + " not " + bad);
    }
  }

  @Test
  void aFileThatIsNotAJsonObjectOrCannotBeReadIsRefusedNamingConfig() throws IOException {
    Path broken = file("{\"nodeName\": ");
    assertThatThrownBy(() -> ManagerConfig.read(broken, Map.of(), NO_GENERATED_PASSWORD))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_FIELD);
          assertThat(e.field()).isEqualTo("--config");
        })
        .hasMessageStartingWith("--config: " + broken + " is not a JSON object");
    Path missing = dir.resolve("missing.json");
    assertThatThrownBy(() -> ManagerConfig.read(missing, Map.of(), NO_GENERATED_PASSWORD))
        .hasMessage("--config: cannot read " + missing);
  }

  @Test
  void clusterMembersAreHostPortEntriesAndABrokenOneIsRefusedNamingTheKey() {
    for (String good : new String[] {"10.0.1.3:5701", "tasks.manager:5701", "mgr-2", "[fd00::2]:5701", "[::1]",
        "a:1,b:65535"}) {
      Map<String, String> env = Map.of("MKE_BACKUP_DATA_DIR", dir.toString(), "MKE_BACKUP_DEFAULT_DIR", dir.toString(),
          "MKE_BACKUP_CLUSTER_MEMBERS", good);
      assertThat(ManagerConfig.read(null, env, NO_GENERATED_PASSWORD).clusterMembers()).as(good).isNotEmpty();
    }
    for (String bad : new String[] {"tasks.manager:abc", "host:", ":5701", "host:0", "host:65536", "fe80::1",
        "[::1]x", "[::1]:", "a b:5701", "host:5701:1"}) {
      Map<String, String> env = Map.of("MKE_BACKUP_DATA_DIR", dir.toString(), "MKE_BACKUP_DEFAULT_DIR", dir.toString(),
          "MKE_BACKUP_CLUSTER_MEMBERS", bad);
      assertThatThrownBy(() -> ManagerConfig.read(null, env, NO_GENERATED_PASSWORD)).as(bad)
          .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.field()).isEqualTo("clusterMembers"))
          .hasMessageContaining("is not host:port");
    }
  }

  @Test
  void clusterSizeIsANumberOrSwarmAndCountsTheMajorityInsteadOfTheMembersList() {
    Map<String, String> base = Map.of("MKE_BACKUP_DATA_DIR", dir.toString(), "MKE_BACKUP_DEFAULT_DIR", dir.toString(),
        "MKE_BACKUP_CLUSTER_MEMBERS", "10.0.1.3:5701");
    assertThat(ManagerConfig.read(null, base, NO_GENERATED_PASSWORD).clusterSize()).isEmpty();
    for (String good : new String[] {"3", "swarm"}) {
      Map<String, String> env = new java.util.HashMap<>(base);
      env.put("MKE_BACKUP_CLUSTER_SIZE", good);
      assertThat(ManagerConfig.read(null, env, NO_GENERATED_PASSWORD).clusterSize()).isEqualTo(good);
    }
    for (String bad : new String[] {"0", "-1", "three", "100", "Swarm"}) {
      Map<String, String> env = new java.util.HashMap<>(base);
      env.put("MKE_BACKUP_CLUSTER_SIZE", bad);
      assertThatThrownBy(() -> ManagerConfig.read(null, env, NO_GENERATED_PASSWORD)).as(bad)
          .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.field()).isEqualTo("clusterSize"));
    }
    // One task resolved tasks.manager while it alone had started: a cluster of three all the same.
    io.mkebackup.common.cluster.ClusterSettings alone = new io.mkebackup.common.cluster.ClusterSettings("c",
        "10.0.1.3", 5701, java.util.List.of("10.0.1.3:5701"), "node1", 3);
    assertThat(alone.configuredMembers()).isEqualTo(3);
    assertThat(io.mkebackup.common.cluster.BackupLock.majority(alone.configuredMembers())).isEqualTo(2);
    assertThat(new io.mkebackup.common.cluster.ClusterSettings("c", "10.0.1.3", 5701,
        java.util.List.of("10.0.1.3:5701"), "node1").configuredMembers()).isEqualTo(1);
  }
}
