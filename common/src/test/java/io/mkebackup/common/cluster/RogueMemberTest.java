package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.serialization.HazelcastSerializationException;
import io.mkebackup.common.record.BackupRecord;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A manager's Hazelcast member (its real configuration) beside a plain Hazelcast member that
 * joined with the derived cluster name and no secret, on loopback in this JVM: what the rogue
 * plants is never deserialized into a type of its choosing.
 */
@Tag("integration")
class RogueMemberTest {
  @TempDir
  Path base;
  final String configuredName = "rogue-" + UUID.randomUUID();
  final ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(("rogue-secret-" + UUID.randomUUID())
      .getBytes(StandardCharsets.UTF_8), "test"));
  final int portA = ClusterMapTrustTest.freePort();
  final int portRogue = ClusterMapTrustTest.freePort();
  final List<HazelcastInstance> started = new ArrayList<>();

  /** A Serializable type of the classpath whose readObject would run code: counts its calls. */
  static final class Gadget implements Serializable {
    static final AtomicInteger READ = new AtomicInteger();
    private static final long serialVersionUID = 1L;

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      in.defaultReadObject();
      READ.incrementAndGet();
    }
  }

  @AfterEach
  void stop() {
    started.forEach(HazelcastInstance::shutdown);
  }

  HazelcastInstance manager() {
    Config c = new ClusterSettings(configuredName, "127.0.0.1", portA,
        List.of("127.0.0.1:" + portA, "127.0.0.1:" + portRogue), "a").memberConfig(trust);
    HazelcastInstance h = Hazelcast.newHazelcastInstance(c);
    started.add(h);
    return h;
  }

  /** A plain Hazelcast member with the derived name (it was seen on the wire) and no trust. */
  HazelcastInstance rogue() {
    Config c = new Config();
    c.setClusterName(trust.clusterName(configuredName));
    c.setProperty("hazelcast.logging.type", "jdk");
    c.setProperty("hazelcast.local.localAddress", "127.0.0.1");
    c.getNetworkConfig().setPort(portRogue).setPortAutoIncrement(false);
    c.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    c.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
    c.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true).setMembers(List.of("127.0.0.1:" + portA));
    HazelcastInstance h = Hazelcast.newHazelcastInstance(c);
    started.add(h);
    return h;
  }

  @Test
  void aValueOfATypeOutsideTheAllowListIsRefusedWithoutRunningItsReadObject() throws Exception {
    HazelcastInstance a = manager();
    BackupCatalog catalog = new BackupCatalog(a, base.resolve("catalog"));
    catalog.startMirroring();
    BackupRecord genuine = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "g.tar", "", "/backups", "a",
        "m", "api").succeeded(1, 1, 1);
    catalog.put(genuine);
    HazelcastInstance rogue = rogue();
    await().atMost(Duration.ofSeconds(30)).until(() -> a.getCluster().getMembers().size() == 2);
    // The rogue's own JVM deserializes nothing: it writes, and sends the bytes.
    IMap<Object, Object> planted = rogue.getMap(ClusterSettings.CATALOG_MAP);
    // Keys spread over both members' partitions, values and keys of the gadget's type.
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      String k = UUID.randomUUID().toString();
      keys.add(k);
      planted.set(k, new Gadget());
    }
    planted.set(new Gadget(), "a key of its type");
    int before = Gadget.READ.get();

    IMap<String, Object> raw = a.getMap(ClusterSettings.CATALOG_MAP);
    assertThatThrownBy(() -> raw.get(keys.get(0))).as("Hazelcast itself refuses the type")
        .isInstanceOf(HazelcastSerializationException.class).rootCause().isInstanceOf(SecurityException.class);
    assertThat(catalog.get(keys.get(1))).isEmpty();
    assertThat(catalog.list()).extracting(BackupRecord::id).containsExactly(genuine.id());
    assertThat(Gadget.READ.get()).as("no readObject of the planted type ran").isEqualTo(before);
  }
}
