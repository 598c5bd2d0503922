package io.mkebackup.common.cluster;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import java.util.List;
import java.util.Objects;

/**
 * How a manager joins the backup cluster: Hazelcast over TCP/IP to the listed members (no
 * multicast; a listed host name is looked up again at every look, {@link DnsMembers}), bound to one address, with failure detection short enough that a dead member's
 * backup is marked FAILED within 15 seconds.
 *
 * @param clusterName the configured name; the Hazelcast cluster's name is derived from it and the
 *     cluster secret ({@link ClusterTrust#clusterName}), so only holders of both meet
 * @param bindHost the address Hazelcast and the clustered event bus listen on
 * @param port Hazelcast's port on this member
 * @param members host:port of every manager (this one may be listed too); a host name is resolved
 *     again each time the cluster looks for members ({@link DnsMembers})
 * @param nodeName this manager's node name, published as a member attribute
 * @param size how many managers make the cluster, the majority being counted of it; 0: as many as
 *     {@code members} lists (this one counted). A Swarm's {@code tasks.<service>} name lists only the
 *     tasks healthy at the moment it is resolved, so there the count is given.
 */
public record ClusterSettings(String clusterName, String bindHost, int port, List<String> members, String nodeName,
    int size) {
  /** Member attribute holding a member's node name. */
  public static final String NODE_ATTRIBUTE = "mke.node";
  public static final String CATALOG_MAP = "mke-backup-catalog";
  public static final String CONTENTS_MAP = "mke-backup-contents";
  /**
   * Ids of removed backup records (removal time): a removal is a manager's only when its tombstone
   * was written first, so any other is put back; and a member down at the time does not bring the
   * record back.
   */
  public static final String DELETED_CATALOG_MAP = "mke-backup-catalog-deleted";
  public static final String SCHEDULE_MAP = "mke-backup-schedules";
  /** Ids of deleted schedules, so that a member down at the time does not bring one back. */
  public static final String DELETED_SCHEDULE_MAP = "mke-backup-schedules-deleted";
  public static final String LOCK_MAP = "mke-backup-lock";
  public static final String TOKEN_MAP = "mke-backup-tokens";
  public static final String LOGIN_FAILURES_MAP = "mke-backup-login-failures";
  /** At most this many (user, client address) failure counts per member. */
  public static final int MAX_LOGIN_FAILURE_ENTRIES = 10_000;
  /**
   * A member silent this long is removed. Heartbeats go every second; 8 s tolerates a long GC pause
   * on a busy 2-core manager and still leaves room inside the 15-second FAILED promise.
   */
  public static final int MAX_NO_HEARTBEAT_SECONDS = 8;
  /**
   * How often a cluster looks for another it was split from and merges with it. Hazelcast's 300 s
   * (120 s after the first) leaves a member that was paused or cut off in a cluster of its own for
   * minutes after it is back; a look every few seconds costs a connection attempt per missing member.
   */
  public static final int MERGE_EVERY_SECONDS = 5;
  /** How long a cluster call waits for a member that neither answers nor reports progress. */
  public static final int CALL_TIMEOUT_MILLIS = 15_000;
  /** The split-brain protection of the lock map: a majority of the configured managers. */
  static final String MAJORITY = "mke-backup-majority";

  public ClusterSettings {
    Objects.requireNonNull(clusterName);
    Objects.requireNonNull(bindHost);
    members = List.copyOf(members);
    Objects.requireNonNull(nodeName);
    if (size < 0) {
      throw new IllegalArgumentException("size");
    }
  }

  public ClusterSettings(String clusterName, String bindHost, int port, List<String> members, String nodeName) {
    this(clusterName, bindHost, port, members, nodeName, 0);
  }

  /**
   * Expands member entries whose host name resolves to several addresses (a Swarm service's
   * {@code tasks.<service>} name) into one entry per address; IP entries and names that do not
   * resolve stay as they are.
   */
  public static List<String> expand(List<String> members) {
    java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
    for (String m : members) {
      String host = DnsMembers.host(m);
      int port = DnsMembers.port(m);
      try {
        for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
          out.add(a.getHostAddress() + ":" + port);
        }
      } catch (java.net.UnknownHostException e) {
        out.add(m);
      }
    }
    return List.copyOf(out);
  }

  /**
   * How many managers the cluster is configured with: {@link #size} when given, else the members
   * list, this member counted once whether it is listed or not.
   */
  public int configuredMembers() {
    if (size > 0) {
      return size;
    }
    java.util.Set<String> all = new java.util.HashSet<>(expand(members));
    all.add(bindHost + ":" + port);
    return all.size();
  }

  /** The member configuration: vertx-hazelcast's defaults (its event-bus maps) plus ours. */
  public Config memberConfig(ClusterTrust trust) {
    Config c = ConfigUtil.loadConfig();
    trust.applyTo(c, clusterName);
    MemberProof proof = new MemberProof(trust);
    c.getUserContext().put(MemberProof.CONTEXT_KEY, proof);
    c.setInstanceName("mke-backup-" + nodeName);
    c.setProperty("hazelcast.logging.type", "jdk");
    c.setProperty("hazelcast.phone.home.enabled", "false");
    c.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    c.setProperty("hazelcast.max.no.heartbeat.seconds", String.valueOf(MAX_NO_HEARTBEAT_SECONDS));
    c.setProperty("hazelcast.wait.seconds.before.join", "1");
    c.setProperty("hazelcast.max.wait.seconds.before.join", "3");
    c.setProperty("hazelcast.local.localAddress", bindHost);
    c.setProperty("hazelcast.socket.bind.any", "false");
    c.setProperty("hazelcast.shutdownhook.enabled", "false");
    c.setProperty("hazelcast.merge.first.run.delay.seconds", String.valueOf(MERGE_EVERY_SECONDS));
    c.setProperty("hazelcast.merge.next.run.delay.seconds", String.valueOf(MERGE_EVERY_SECONDS));
    // A CLI client that died holding the backup lock: free its lock 5 s after its connection
    // dropped (default 2 minutes, in case it reconnects; a CLI backup never does).
    c.setProperty("hazelcast.client.cleanup.timeout.millis", "5000");
    c.setProperty("hazelcast.client.cleanup.period.millis", "1000");
    // A member that joins with the derived name but without the secret can put any value in any
    // map and send any operation: Java deserialization only of the allowed types, nothing run
    // that a member sends as code.
    c.getSerializationConfig().setJavaSerializationFilterConfig(javaSerializationFilter());
    // ...and no class of another's choosing constructed by name (DataSerializable).
    c.setClassLoader(new ClusterClassLoader(ClusterSettings.class.getClassLoader()));
    c.getJetConfig().setEnabled(false);
    // A call whose target member neither answers nor reports it still running fails after this
    // (Hazelcast's default is a minute): a partition owned by a member that sits on its calls
    // gives an error, not a hang.
    c.setProperty("hazelcast.operation.call.timeout.millis", String.valueOf(CALL_TIMEOUT_MILLIS));
    c.getUserCodeDeploymentConfig().setEnabled(false);
    NetworkConfig network = c.getNetworkConfig();
    network.setPort(port).setPortAutoIncrement(false);
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    List<String> listed = members.isEmpty() ? List.of(bindHost + ":" + port) : members;
    if (DnsMembers.namesHosts(listed)) {
      // A name (a Swarm's tasks.<service>) is resolved again at every look, not once at start.
      c.setProperty("hazelcast.discovery.enabled", "true");
      join.getTcpIpConfig().setEnabled(false);
      join.getDiscoveryConfig().addDiscoveryStrategyConfig(DnsMembers.config(listed));
    } else {
      join.getTcpIpConfig().setEnabled(true).setMembers(listed);
    }
    c.getMemberAttributeConfig().setAttribute(NODE_ATTRIBUTE, nodeName);
    // The catalog keeps a synchronous backup copy on another member, so losing one member loses
    // no record (and each member also mirrors it to its disk).
    c.addMapConfig(new MapConfig(CATALOG_MAP).setBackupCount(1).setReadBackupData(false));
    c.addMapConfig(new MapConfig(CONTENTS_MAP).setBackupCount(1));
    c.addMapConfig(new MapConfig(DELETED_CATALOG_MAP).setBackupCount(1));
    c.addMapConfig(new MapConfig(SCHEDULE_MAP).setBackupCount(1));
    c.addMapConfig(new MapConfig(DELETED_SCHEDULE_MAP).setBackupCount(1));
    // As many copies as members a majority can lose (one with three managers, two with five): the
    // lock and its holder entry survive whatever a majority survives (Hazelcast's limit is 6).
    int configured = configuredMembers();
    MapConfig lock = new MapConfig(LOCK_MAP).setBackupCount(lockBackups(configured));
    if (configured >= 3) {
      // Hazelcast applies a map's split-brain protection to its entry locks too (BackupLockIT
      // shows it for 5.3.8): on the minority side of a partition neither a member nor a CLI
      // client connected there can take the lock, write its holder entry or renew a lease.
      // BackupLock checks the member count as well, for a clear refusal.
      // Counting proven members only: a member that knows the cluster's name is not a manager.
      c.addSplitBrainProtectionConfig(new com.hazelcast.config.SplitBrainProtectionConfig(MAJORITY, true,
          BackupLock.majority(configured)).setFunctionImplementation(
              new MemberProof.ProvenMajority(proof, BackupLock.majority(configured))));
      lock.setSplitBrainProtectionName(MAJORITY);
    }
    c.addMapConfig(lock);
    c.addExecutorConfig(new com.hazelcast.config.ExecutorConfig(BackupLease.EXECUTOR).setPoolSize(2));
    c.addMapConfig(new MapConfig(TOKEN_MAP).setBackupCount(1));
    // Failed logins are counted per user and client address: a cap keeps a flood of addresses
    // from growing the heap (the oldest counts go first).
    c.addMapConfig(new MapConfig(LOGIN_FAILURES_MAP).setBackupCount(1).setEvictionConfig(
        new com.hazelcast.config.EvictionConfig().setEvictionPolicy(com.hazelcast.config.EvictionPolicy.LRU)
            .setMaxSizePolicy(com.hazelcast.config.MaxSizePolicy.PER_NODE).setSize(MAX_LOGIN_FAILURE_ENTRIES)));
    return c;
  }

  /**
   * The types Hazelcast may read with Java deserialization, everything else refused before its
   * class is loaded: cluster state holds only strings (never Java-serialized), so what is left is
   * Hazelcast's own traffic (a remote call's exception travels Java-serialized, with its stack
   * trace). No third-party library of the classpath is on the list: those are where
   * deserialization gadgets live.
   */
  static com.hazelcast.config.JavaSerializationFilterConfig javaSerializationFilter() {
    com.hazelcast.config.JavaSerializationFilterConfig filter = new com.hazelcast.config.JavaSerializationFilterConfig()
        .setDefaultsDisabled(true);
    // A non-empty list is what makes Hazelcast deny the rest.
    filter.getWhitelist().addPrefixes("com.hazelcast.", "java.lang.", "java.util.", "java.io.", "java.net.",
        "java.time.", "java.math.", "[");
    // Within those: proxies, serialized lambdas and URLs (a DNS lookup when hashed) are not data.
    filter.getBlacklist().addPrefixes("java.lang.reflect.", "java.lang.invoke.").addClasses("java.net.URL",
        "java.net.InetAddress", "java.net.Inet4Address", "java.net.Inet6Address");
    return filter;
  }

  /** Copies of the lock map beside its owner's: the members a majority of {@code configured} can lose. */
  static int lockBackups(int configured) {
    return Math.max(1, Math.min(6, configured - BackupLock.majority(configured)));
  }

  /** What the CLI uses to take the cluster's backup lock without becoming a member. */
  public ClientConfig clientConfig(ClusterTrust trust) {
    ClientConfig c = new ClientConfig();
    trust.applyTo(c, clusterName);
    c.setInstanceName("mke-backup-cli-" + ProcessHandle.current().pid());
    c.setProperty("hazelcast.logging.type", "jdk");
    c.setProperty("hazelcast.client.heartbeat.interval", "1000");
    c.setProperty("hazelcast.client.heartbeat.timeout", "8000");
    c.getSerializationConfig().setJavaSerializationFilterConfig(javaSerializationFilter());
    c.setClassLoader(new ClusterClassLoader(ClusterSettings.class.getClassLoader()));
    c.getNetworkConfig().setAddresses(members);
    c.getConnectionStrategyConfig().getConnectionRetryConfig().setClusterConnectTimeoutMillis(5000);
    return c;
  }
}
