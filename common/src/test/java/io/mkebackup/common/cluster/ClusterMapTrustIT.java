package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.schedule.Schedule;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A manager's cluster state against a rogue Hazelcast member (real members on loopback) that
 * knows the derived cluster name but not the secret: what it writes into the maps is not acted on
 * and never reaches the disk outside the mirror directories, and a previous version's mirror files
 * come back sealed.
 */
@Tag("integration")
class ClusterMapTrustIT {
  @TempDir
  Path base;
  final String configuredName = "maps-" + UUID.randomUUID();
  final ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(("maps-secret-" + UUID.randomUUID())
      .getBytes(StandardCharsets.UTF_8), "test"));
  final int portA = freePort();
  final int portRogue = freePort();
  final List<HazelcastInstance> started = new ArrayList<>();

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
  void whatARogueMemberWritesIsIgnoredAndNamesNoFile() throws Exception {
    Path data = Files.createDirectories(base.resolve("data"));
    Path canary = Files.createDirectories(base.resolve("canary"));
    Files.writeString(canary.resolve("victim.json"), "keep me");
    Files.writeString(canary.resolve("victim.deleted"), "keep me");
    Map<String, String> canaryBefore = snapshot(canary);

    HazelcastInstance a = manager();
    HazelcastBackupCatalog catalog = new HazelcastBackupCatalog(a, data.resolve("catalog"));
    catalog.startMirroring();
    HazelcastScheduleStore schedules = new HazelcastScheduleStore(a, data.resolve("schedules"));
    schedules.startMirroring();
    BackupRecord genuine = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "g.tar", "", "/backups", "a",
        "m", "api").succeeded(1, 1, 1);
    catalog.put(genuine);

    HazelcastInstance rogue = rogue();
    await().atMost(Duration.ofSeconds(30)).until(() -> a.getCluster().getMembers().size() == 2);
    IMap<String, String> rogueCatalog = rogue.getMap(ClusterSettings.CATALOG_MAP);
    IMap<String, String> rogueSchedules = rogue.getMap(ClusterSettings.SCHEDULE_MAP);
    IMap<String, String> rogueTombstones = rogue.getMap(ClusterSettings.DELETED_SCHEDULE_MAP);
    // Up to the root from any mirror directory under data (however deep the temporary directory
    // is: ".." at the root stays there), then down to the canary.
    String up = "../".repeat(data.toAbsolutePath().getNameCount() + 4) + canary.toAbsolutePath().toString().substring(1);
    String record = BackupRecord.inProgress("x", false, "passwd", "", "/etc", "rogue", "r", "api")
        .succeeded(1, 1, 1).toStoredJson().encode();
    // Traversal keys: a file written, then removed, outside the mirror directory.
    rogueCatalog.set(up + "/evil", record);
    rogueCatalog.set(up + "/victim", record);
    rogueCatalog.remove(up + "/victim");
    rogueSchedules.set(up + "/evil", "{}");
    rogueTombstones.set(up + "/victim", "1");
    // Forged values under well-formed keys, with no MAC and with a made-up one.
    String forgedId = UUID.randomUUID().toString();
    rogueCatalog.set(forgedId, record);
    rogueCatalog.set(UUID.randomUUID().toString(), ValueSeal.PREFIX + "A".repeat(43) + ":" + record);
    Schedule etc = new Schedule(UUID.randomUUID().toString(), "@every 1s", false, "/etc", false, true, null, null,
        null, null, Instant.now(), 0);
    rogueSchedules.set(etc.id(), etc.toJson().encode());
    rogueTombstones.set(genuine.id(), "1");
    // A genuine record overwritten with a forged one reads as absent; its mirror file keeps the
    // genuine, which is put back (no manager's removal, whatever member reports it).
    String overwritten = UUID.randomUUID().toString();
    catalog.put(BackupRecord.inProgress(overwritten, true, "o.tar", "", "/backups", "a", "m", "api"));
    rogueCatalog.set(overwritten, record);
    // A marker written last: once its (genuine) file is there, the listener has seen all of the above.
    BackupRecord marker = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "m.tar", "", "/backups", "a",
        "m", "api");
    catalog.put(marker);
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(data.resolve("catalog/" + marker.id() + ".json")));

    assertThat(snapshot(canary)).as("nothing outside the data directory changed").isEqualTo(canaryBefore);
    await("the overwritten record is put back from the mirror").atMost(Duration.ofSeconds(10))
        .until(() -> catalog.get(overwritten).isPresent());
    assertThat(catalog.list()).extracting(BackupRecord::id)
        .containsExactlyInAnyOrder(genuine.id(), marker.id(), overwritten);
    assertThat(catalog.get(forgedId)).isEmpty();
    assertThat(schedules.list()).isEmpty();
    assertThat(schedules.get(etc.id())).isEmpty();
    try (Stream<Path> files = Files.list(data.resolve("catalog"))) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .containsExactlyInAnyOrder(genuine.id() + ".json", overwritten + ".json", marker.id() + ".json");
    }
    assertThat(Files.readString(data.resolve("catalog/" + overwritten + ".json"))).contains("o.tar");
    try (Stream<Path> files = Files.list(data.resolve("schedules"))) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void mirrorFilesOfThePreviousVersionComeBackSealed() throws Exception {
    Path dir = Files.createDirectories(base.resolve("catalog"));
    BackupRecord old = BackupRecord.inProgress(UUID.randomUUID().toString(), true, "old.tar", "", "/backups", "a",
        "m", "api").succeeded(1, 1, 1);
    // What the previous version wrote: the record's JSON, no MAC.
    Files.writeString(dir.resolve(old.id() + ".json"), old.toStoredJson().encode());
    HazelcastInstance a = manager();
    HazelcastBackupCatalog catalog = new HazelcastBackupCatalog(a, dir);
    assertThat(catalog.startMirroring()).isEqualTo(1);
    assertThat(catalog.get(old.id())).isPresent().get().extracting(BackupRecord::fileName).isEqualTo("old.tar");
    IMap<String, String> raw = a.getMap(ClusterSettings.CATALOG_MAP);
    assertThat(raw.get(old.id())).startsWith(ValueSeal.PREFIX);
    assertThat(Files.readString(dir.resolve(old.id() + ".json"))).isEqualTo(old.toStoredJson().encode());
  }

  static Map<String, String> snapshot(Path dir) throws IOException {
    Map<String, String> m = new TreeMap<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        m.put(dir.relativize(f).toString(), Files.readString(f));
      }
    }
    return m;
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
