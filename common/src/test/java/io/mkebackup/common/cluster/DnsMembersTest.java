package io.mkebackup.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.logging.Logger;
import com.hazelcast.spi.discovery.DiscoveryNode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * Members named by host name are resolved at every look, so a Swarm task that started before the
 * others, or one replaced at a new address, is found later; addresses stay addresses.
 */
class DnsMembersTest {
  static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  static List<String> found(DnsMembers d) {
    return StreamSupport.stream(d.discoverNodes().spliterator(), false).map(DiscoveryNode::getPrivateAddress)
        .map(a -> a.getHost() + ":" + a.getPort()).toList();
  }

  @Test
  void aNameIsResolvedAgainAtEveryLook() {
    AtomicReference<InetAddress[]> answer = new AtomicReference<>(new InetAddress[] {ip("10.0.0.1")});
    DnsMembers d = new DnsMembers(Logger.getLogger(DnsMembersTest.class),
        Map.of("members", "tasks.manager:5701,10.9.9.9:5702"), host -> {
          if (host.equals("tasks.manager")) {
            InetAddress[] a = answer.get();
            if (a == null) {
              throw new IllegalStateException("unknown host");
            }
            return a;
          }
          return new InetAddress[] {ip(host)};
        });
    assertThat(found(d)).containsExactly("10.0.0.1:5701", "10.9.9.9:5702");
    answer.set(new InetAddress[] {ip("10.0.0.1"), ip("10.0.0.7"), ip("10.0.0.8")});
    assertThat(found(d)).containsExactly("10.0.0.1:5701", "10.0.0.7:5701", "10.0.0.8:5701", "10.9.9.9:5702");
    answer.set(null);
    assertThat(found(d)).as("a name that does not resolve now adds nothing").containsExactly("10.9.9.9:5702");
  }

  @Test
  void onlyListsNamingAHostAreResolvedByName() {
    record Case(List<String> members, boolean names) {}
    for (Case c : List.of(
        new Case(List.of("127.0.0.1:5701", "10.0.0.2:5701"), false),
        new Case(List.of("[::1]:5701"), false),
        new Case(List.of("tasks.manager:5701"), true),
        new Case(List.of("10.0.0.2:5701", "mgr2:5701"), true),
        new Case(List.of("localhost"), true))) {
      assertThat(DnsMembers.namesHosts(c.members())).as(c.members().toString()).isEqualTo(c.names());
    }
  }
}
