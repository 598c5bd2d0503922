package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.serialization.HazelcastSerializationException;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
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
 * A manager's Hazelcast member (its real configuration) beside a plain Hazelcast member or client
 * that joined with the derived cluster name and no secret, on loopback in this JVM: what the rogue
 * plants is never deserialized into a type of its choosing, a holder entry it replays under its
 * own lock stops backups for {@link BackupLock#HOLD_FOR} at most, and what its client removes
 * from the catalog comes back.
 */
@Tag("integration")
class RogueHazelcastMemberIT {
  @TempDir
  Path base;
  final String configuredName = "rogue-" + UUID.randomUUID();
  final ClusterTrust trust = ClusterTrust.derive(ClusterSecret.of(("rogue-secret-" + UUID.randomUUID())
      .getBytes(StandardCharsets.UTF_8), "test"));
  final int portA = ClusterMapTrustIT.freePort();
  final int portRogue = ClusterMapTrustIT.freePort();
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

  final java.util.concurrent.ExecutorService holderThread = java.util.concurrent.Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    holderThread.shutdownNow();
    started.forEach(HazelcastInstance::shutdown);
  }

  /** A wall clock the test moves: the holder entries' until is read off it. */
  static final class MovableClock extends java.time.Clock {
    final java.util.concurrent.atomic.AtomicLong offset = new java.util.concurrent.atomic.AtomicLong();

    void advance(Duration d) {
      offset.addAndGet(d.toMillis());
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public java.time.Instant instant() {
      return java.time.Instant.ofEpochMilli(millis());
    }

    @Override
    public long millis() {
      return System.currentTimeMillis() + offset.get();
    }
  }

  /** A CLI's Hazelcast client: the secret, connected to the manager. */
  HazelcastInstance cli() {
    com.hazelcast.client.config.ClientConfig c = new ClusterSettings(configuredName, "127.0.0.1", 0,
        List.of("127.0.0.1:" + portA), "cli").clientConfig(trust);
    // Two CLIs in one JVM: each its own instance name (a CLI names its client after its pid).
    c.setInstanceName(c.getInstanceName() + "-" + UUID.randomUUID());
    HazelcastInstance h = com.hazelcast.client.HazelcastClient.newHazelcastClient(c);
    started.add(h);
    return h;
  }

  /** A plain Hazelcast client with the derived name (seen on the wire) and no trust. */
  HazelcastInstance rogueClient() {
    com.hazelcast.client.config.ClientConfig c = new com.hazelcast.client.config.ClientConfig();
    c.setClusterName(trust.clusterName(configuredName));
    c.setProperty("hazelcast.logging.type", "jdk");
    c.getNetworkConfig().setAddresses(List.of("127.0.0.1:" + portA));
    HazelcastInstance h = com.hazelcast.client.HazelcastClient.newHazelcastClient(c);
    started.add(h);
    return h;
  }

  /** Runs on one thread, which owns the locks it takes (Hazelcast's locks belong to a thread). */
  <T> T onHolder(java.util.concurrent.Callable<T> call) throws Exception {
    return holderThread.submit(call).get();
  }

  static ErrorCode codeOf(Throwable t) {
    Throwable c = t;
    while (c != null && !(c instanceof BackupException)) {
      c = c.getCause();
    }
    return c == null ? null : ((BackupException) c).code();
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
    BackupCatalog catalog = mirroredCatalog(a);
    BackupRecord genuine = succeeded("g.tar");
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

  @Test
  void aDataSerializableOutsideTheListIsRefusedWithoutRunningItsConstructor() throws Exception {
    HazelcastInstance a = manager();
    BackupCatalog catalog = mirroredCatalog(a);
    HazelcastInstance rogue = rogue();
    await().atMost(Duration.ofSeconds(30)).until(() -> a.getCluster().getMembers().size() == 2);
    IMap<Object, Object> planted = rogue.getMap(ClusterSettings.CATALOG_MAP);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      String k = UUID.randomUUID().toString();
      keys.add(k);
      planted.set(k, new gadget.PlantedData());
    }
    int constructed = gadget.PlantedData.CONSTRUCTED.get();
    int read = gadget.PlantedData.READ.get();

    IMap<String, Object> raw = a.getMap(ClusterSettings.CATALOG_MAP);
    assertThatThrownBy(() -> raw.get(keys.get(0))).as("Hazelcast refuses to construct it")
        .isInstanceOf(HazelcastSerializationException.class).rootCause().isInstanceOf(SecurityException.class)
        .hasMessageContaining("gadget.PlantedData");
    assertThat(catalog.get(keys.get(1))).isEmpty();
    assertThat(catalog.list()).isEmpty();
    // The lease's own calls (DataSerializable types of this project) still go through.
    assertThat(new HazelcastBackupLock(a, 2).hasMajority()).isTrue();
    assertThat(a.getExecutorService(BackupLease.EXECUTOR).submitToMember(new BackupLock.Holds("x"),
        a.getCluster().getLocalMember()).get()).isFalse();
    assertThat(gadget.PlantedData.CONSTRUCTED.get()).as("no constructor of the planted type ran").isEqualTo(constructed);
    assertThat(gadget.PlantedData.READ.get()).isEqualTo(read);
  }

  @Test
  void aRogueClientsLockWithAnOldHolderEntryWithoutHolderOrUntilDoesNotStopABackup() throws Exception {
    HazelcastInstance a = manager();
    HazelcastInstance rogue = rogueClient();
    // A genuine entry of the version before holder entries named their holder (the rogue read it
    // off the cluster then); the test seals it as that version did.
    IMap<String, String> raw = rogue.getMap(ClusterSettings.LOCK_MAP);
    raw.lock(HazelcastBackupLock.KEY);
    raw.set(HazelcastBackupLock.KEY, trust.seal().seal(ClusterSettings.LOCK_MAP, HazelcastBackupLock.KEY,
        "{\"backupId\":\"old\",\"node\":\"a\"}"));

    HazelcastBackupLock lock = new HazelcastBackupLock(a, 2);
    BackupLease lease = onHolder(() -> lock.acquire("b1", "a"));
    assertThat(lock.holder()).hasValueSatisfying(h -> assertThat(h.getString("backupId")).isEqualTo("b1"));
    onHolder(() -> {
      lease.release();
      return null;
    });
    assertThat(lock.held()).isFalse();
  }

  @Test
  void aCliHolderEntryARogueClientReplaysStopsCliBackupsOnlyUntilItsUntil() throws Exception {
    manager();
    MovableClock clock = new MovableClock();
    HazelcastInstance cli1 = cli();
    HazelcastInstance rogue = rogueClient();
    IMap<String, String> raw = rogue.getMap(ClusterSettings.LOCK_MAP);
    // A CLI backup runs; the rogue copies its holder entry (and renewal) meanwhile.
    HazelcastBackupLock lock1 = new HazelcastBackupLock(cli1, 0, clock);
    BackupLease lease1 = onHolder(() -> lock1.acquire("cli-1", "a"));
    ((HazelcastBackupLease) lease1).renew();
    String entry = raw.get(HazelcastBackupLock.KEY);
    String renewal = raw.get(HazelcastBackupLock.RENEWED_KEY);
    assertThat(entry).contains("cli-1");
    assertThat(renewal).contains("cli-1");
    onHolder(() -> {
      lease1.release();
      return null;
    });
    cli1.shutdown();
    // The rogue takes the lock and puts the entries back.
    raw.lock(HazelcastBackupLock.KEY);
    raw.set(HazelcastBackupLock.KEY, entry);
    raw.set(HazelcastBackupLock.RENEWED_KEY, renewal);

    HazelcastInstance cli2 = cli();
    HazelcastBackupLock lock2 = new HazelcastBackupLock(cli2, 0, clock);
    assertThatThrownBy(() -> onHolder(() -> lock2.acquire("cli-2", "a")))
        .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.BACKUP_RUNNING))
        .hasMessageContaining("backup cli-1");
    // No lease renews it: once its until has passed, the lock is freed for the next backup.
    clock.advance(BackupLock.HOLD_FOR.plusSeconds(1));
    BackupLease lease2 = onHolder(() -> lock2.acquire("cli-2", "a"));
    assertThat(lock2.holder()).hasValueSatisfying(h -> assertThat(h.getString("backupId")).isEqualTo("cli-2"));
    onHolder(() -> {
      lease2.release();
      return null;
    });
  }

  @Test
  void aRunningCliBackupStaysHonouredPastItsFirstUntilWhileItsLeaseRenews() throws Exception {
    HazelcastInstance a = manager();
    MovableClock clock = new MovableClock();
    HazelcastInstance cli = cli();
    HazelcastBackupLock cliLock = new HazelcastBackupLock(cli, 0, clock);
    BackupLease lease = onHolder(() -> cliLock.acquire("cli-1", "a"));
    clock.advance(BackupLock.HOLD_FOR.plusSeconds(10));
    ((HazelcastBackupLease) lease).renew();
    assertThat(lease.valid()).isTrue();
    // The manager and another CLI read the same clock: the renewal keeps the lock honoured.
    HazelcastBackupLock managerLock = new HazelcastBackupLock(a, 2, clock);
    assertThatThrownBy(() -> CompletableFutureOn.call(() -> managerLock.acquire("m-1", "a")))
        .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.BACKUP_RUNNING));
    HazelcastBackupLock otherCli = new HazelcastBackupLock(cli(), 0, clock);
    assertThatThrownBy(() -> CompletableFutureOn.call(() -> otherCli.acquire("cli-2", "a")))
        .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.BACKUP_RUNNING));
    assertThat(lease.valid()).isTrue();
    onHolder(() -> {
      lease.release();
      return null;
    });
  }

  /** Runs a call on a fresh thread (not the holder's: Hazelcast's locks are reentrant per thread). */
  static final class CompletableFutureOn {
    static <T> T call(java.util.concurrent.Callable<T> c) throws Exception {
      java.util.concurrent.FutureTask<T> t = new java.util.concurrent.FutureTask<>(c);
      new Thread(t, "other-taker").start();
      return t.get();
    }
  }

  @Test
  void aLockWhoseTakerIsStillWritingItsHolderEntryIsNotTakenForAbandoned() throws Exception {
    HazelcastInstance a = manager();
    HazelcastBackupLock lock = new HazelcastBackupLock(a, 2);
    SealedMap map = SealedMap.of(a, ClusterSettings.LOCK_MAP);
    java.util.concurrent.CountDownLatch locked = new java.util.concurrent.CountDownLatch(1);
    // A taker that got the lock and whose first write of its entry is refused for 2 s (its
    // split-brain protection not yet updated; it may keep trying for WRITE_HOLDER_WITHIN).
    java.util.concurrent.Future<?> taker = holderThread.submit(() -> {
      map.tryLock(HazelcastBackupLock.KEY);
      HazelcastBackupLock.TAKING.add("slow");
      locked.countDown();
      java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofSeconds(2).toNanos());
      map.set(HazelcastBackupLock.KEY, new io.vertx.core.json.JsonObject().put("backupId", "slow").put("node", "a")
          .put("member", a.getLocalEndpoint().getUuid().toString())
          .put("until", System.currentTimeMillis() + BackupLock.HOLD_FOR.toMillis()).encode());
      return null;
    });
    locked.await();
    assertThatThrownBy(() -> CompletableFutureOn.call(() -> lock.acquire("b2", "a")))
        .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.BACKUP_RUNNING))
        .hasMessageContaining("backup slow");
    taker.get();
    holderThread.submit(() -> {
      HazelcastBackupLock.TAKING.remove("slow");
      map.delete(HazelcastBackupLock.KEY);
      map.unlock(HazelcastBackupLock.KEY);
    }).get();
  }

  @Test
  void aManagerThatDoesNotAnswerIsHonouredOnlyUntilItsEntrysUntil() throws Exception {
    HazelcastInstance a = manager();
    HazelcastInstance b = member(portRogue, "b");
    // A third manager, c, answers: it confirms a's lease (b, busy, cannot).
    member(ClusterMapTrustIT.freePort(), "c");
    await().atMost(Duration.ofSeconds(30)).until(() -> a.getCluster().getMembers().size() == 3);
    // Manager b's lease executor is busy (both its threads blocked): it cannot say what it holds.
    try (BusyLeaseExecutor busy = BusyLeaseExecutor.on(b, b.getCluster().getLocalMember())) {
      MovableClock clock = new MovableClock();
      HazelcastInstance rogue = rogueClient();
      IMap<String, String> raw = rogue.getMap(ClusterSettings.LOCK_MAP);
      raw.lock(HazelcastBackupLock.KEY);
      // An entry b wrote (for a backup it ran earlier), replayed under the rogue's lock.
      raw.set(HazelcastBackupLock.KEY, trust.seal().seal(ClusterSettings.LOCK_MAP, HazelcastBackupLock.KEY,
          new io.vertx.core.json.JsonObject().put("backupId", "b-old").put("node", "b")
              .put("member", b.getCluster().getLocalMember().getUuid().toString())
              .put("until", clock.millis() + BackupLock.HOLD_FOR.toMillis()).encode()));
      HazelcastBackupLock lock = new HazelcastBackupLock(a, 3, clock);
      await().atMost(Duration.ofSeconds(30)).until(() -> MemberProof.provenMembers(a).size() == 3);
      assertThatThrownBy(() -> onHolder(() -> lock.acquire("b1", "a")))
          .as("within its until, a manager that does not answer is given the benefit of the doubt")
          .satisfies(e -> assertThat(codeOf(e)).isEqualTo(ErrorCode.BACKUP_RUNNING));
      clock.advance(BackupLock.HOLD_FOR.plusSeconds(1));
      BackupLease lease = onHolder(() -> lock.acquire("b1", "a"));
      onHolder(() -> {
        lease.release();
        return null;
      });
    }
  }

  /** The catalog on member {@code a}, mirrored to this test's directory. */
  BackupCatalog mirroredCatalog(HazelcastInstance a) throws java.io.IOException {
    HazelcastBackupCatalog catalog = new HazelcastBackupCatalog(a, base.resolve("catalog"));
    catalog.startMirroring();
    return catalog;
  }

  /** A successful backup record of a file, as a manager writes it. */
  static BackupRecord succeeded(String fileName) {
    return BackupRecord.inProgress(UUID.randomUUID().toString(), true, fileName, "", "/backups", "a", "m", "api")
        .succeeded(1, 1, 1);
  }

  /** A second manager's member (its real configuration) at the given port. */
  HazelcastInstance member(int port, String node) {
    Config c = new ClusterSettings(configuredName, "127.0.0.1", port,
        List.of("127.0.0.1:" + portA, "127.0.0.1:" + port), node).memberConfig(trust);
    HazelcastInstance h = Hazelcast.newHazelcastInstance(c);
    started.add(h);
    return h;
  }

  @Test
  void whatARogueClientRemovesFromTheCatalogComesBackAndAManagersRemovalStays() throws Exception {
    HazelcastInstance a = manager();
    BackupCatalog catalog = mirroredCatalog(a);
    BackupRecord kept = succeeded("k.tar");
    BackupRecord removed = succeeded("r.tar");
    catalog.put(kept);
    catalog.put(removed);
    await("mirrored").atMost(Duration.ofSeconds(10)).until(() -> java.nio.file.Files.exists(
        base.resolve("catalog").resolve(kept.id() + ".json")) && java.nio.file.Files.exists(
        base.resolve("catalog").resolve(removed.id() + ".json")));

    // The rogue client's removal is reported as made by the manager that served it.
    HazelcastInstance rogue = rogueClient();
    IMap<String, String> raw = rogue.getMap(ClusterSettings.CATALOG_MAP);
    String sealed = raw.get(kept.id());
    assertThat(raw.remove(kept.id())).isEqualTo(sealed);
    await("the record is back").atMost(Duration.ofSeconds(10)).until(() -> sealed.equals(raw.get(kept.id())));
    int size = raw.size();
    raw.clear();
    await("every record is back after a clear").atMost(Duration.ofSeconds(10)).until(() -> raw.size() == size);

    // A manager's removal (the retention's) writes its tombstone first: it stays removed.
    catalog.remove(removed.id());
    await("its mirror file goes").atMost(Duration.ofSeconds(10)).until(() -> !java.nio.file.Files.exists(
        base.resolve("catalog").resolve(removed.id() + ".json")));
    await("it stays removed").during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4))
        .until(() -> catalog.get(removed.id()).isEmpty());
    assertThat(catalog.get(kept.id())).hasValueSatisfying(r -> assertThat(r.id()).isEqualTo(kept.id()));
  }
}
