package io.mkebackup.common.cluster;

import com.hazelcast.cluster.Address;
import com.hazelcast.config.DiscoveryStrategyConfig;
import com.hazelcast.config.properties.PropertyDefinition;
import com.hazelcast.config.properties.PropertyTypeConverter;
import com.hazelcast.config.properties.SimplePropertyDefinition;
import com.hazelcast.logging.ILogger;
import com.hazelcast.spi.discovery.AbstractDiscoveryStrategy;
import com.hazelcast.spi.discovery.DiscoveryNode;
import com.hazelcast.spi.discovery.DiscoveryStrategy;
import com.hazelcast.spi.discovery.DiscoveryStrategyFactory;
import com.hazelcast.spi.discovery.SimpleDiscoveryNode;
import io.mkebackup.common.io.FileNames;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The cluster's members found by resolving the configured {@code host:port} entries each time
 * Hazelcast looks: when it joins, and every few seconds when it looks for a cluster it was split
 * from ({@link ClusterSettings#MERGE_EVERY_SECONDS}). A Swarm service's {@code tasks.<service>}
 * name lists the tasks running (or, with a healthcheck, healthy) at the moment it is asked: resolved
 * once at start, as a TCP/IP member list is, a task that started before the others would never see
 * them, and a task replaced in a rolling update would never be looked for at its new address.
 * Entries that are IP addresses stay as they are; a name that does not resolve now adds nothing
 * (it may later). Java caches a lookup for 30 s by default; the image sets 5 s with
 * {@code -Dsun.net.inetaddr.ttl=5}, which Java honours while the security property
 * {@code networkaddress.cache.ttl} is unset (as it is in the JDK's own java.security).
 */
public final class DnsMembers extends AbstractDiscoveryStrategy {
  static final PropertyDefinition MEMBERS = new SimplePropertyDefinition("members", PropertyTypeConverter.STRING);

  private final List<String> entries;
  private final Function<String, InetAddress[]> resolver;

  DnsMembers(ILogger logger, Map<String, Comparable> properties, Function<String, InetAddress[]> resolver) {
    super(logger, properties);
    this.entries = List.of(String.valueOf(properties.get(MEMBERS.key())).split(","));
    this.resolver = resolver;
  }

  /** The strategy to put in a join configuration, for these {@code host:port} entries. */
  static DiscoveryStrategyConfig config(List<String> members) {
    return new DiscoveryStrategyConfig(new Factory(), Map.of(MEMBERS.key(), String.join(",", members)));
  }

  /** Whether any entry names a host rather than an address: then the list must be resolved each time. */
  static boolean namesHosts(List<String> members) {
    for (String m : members) {
      String host = host(m);
      if (!host.isEmpty() && !isLiteral(host)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public Iterable<DiscoveryNode> discoverNodes() {
    Set<Address> found = new LinkedHashSet<>();
    for (String m : entries) {
      String host = host(m);
      int port = port(m);
      try {
        for (InetAddress a : resolver.apply(host)) {
          found.add(new Address(a, port));
        }
      } catch (RuntimeException e) {
        getLogger().fine("members: " + FileNames.printable(host, 100) + " does not resolve now: " + e.getMessage());
      }
    }
    List<DiscoveryNode> nodes = new ArrayList<>();
    for (Address a : found) {
      nodes.add(new SimpleDiscoveryNode(a));
    }
    return nodes;
  }

  static InetAddress[] resolve(String host) {
    try {
      return InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("unknown host", e);
    }
  }

  /** An entry's host: what comes before its last colon (ManagerConfig has checked the entry). */
  static String host(String entry) {
    int colon = entry.lastIndexOf(':');
    return (colon < 0 ? entry : entry.substring(0, colon)).trim();
  }

  /** An entry's port, 5701 when it gives none. */
  static int port(String entry) {
    int colon = entry.lastIndexOf(':');
    return colon < 0 ? 5701 : Integer.parseInt(entry.substring(colon + 1).trim());
  }

  private static boolean isLiteral(String host) {
    return host.matches("[0-9.]+") || host.contains(":") || host.startsWith("[");
  }

  /** Hazelcast makes the strategy through this. */
  static final class Factory implements DiscoveryStrategyFactory {
    @Override
    public Class<? extends DiscoveryStrategy> getDiscoveryStrategyType() {
      return DnsMembers.class;
    }

    @Override
    public DiscoveryStrategy newDiscoveryStrategy(DiscoveryNode local, ILogger logger, Map<String, Comparable> properties) {
      return new DnsMembers(logger, properties, DnsMembers::resolve);
    }

    @Override
    public Collection<PropertyDefinition> getConfigurationProperties() {
      return List.of(MEMBERS);
    }
  }
}
