package io.mkebackup.deploy.it;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cuts one manager off from the others with iptables, as a network partition would: every packet
 * of its Hazelcast and event-bus connections (to or from its own address and ports) is dropped,
 * both ways; its HTTPS port stays reachable for the test. The rules live in a chain of their own,
 * hooked into OUTPUT (loopback packets pass there), and {@link #close()} removes them all (also at
 * JVM exit, should the test die).
 */
final class Partition implements AutoCloseable {
  private static final Pattern LISTEN = Pattern.compile("\\s(\\S+):(\\d+)\\s.*pid=(\\d+),");
  private final String chain = "MKEIT-" + UUID.randomUUID().toString().substring(0, 8);
  private final Thread cleanup = new Thread(this::remove, "partition-cleanup");
  private boolean removed;

  private Partition() {}

  /** Drops all cluster traffic between {@code lone} and the {@code others}. */
  static Partition isolate(ManagerProcess lone, List<ManagerProcess> others) throws Exception {
    Partition p = new Partition();
    Runtime.getRuntime().addShutdownHook(p.cleanup);
    try {
      p.iptables("-N", p.chain);
      p.iptables("-I", "OUTPUT", "-j", p.chain);
      // Its own listening ports but HTTPS: Hazelcast's and the event bus's.
      Set<Integer> ports = new TreeSet<>(listeningPorts(lone));
      ports.remove(lone.httpsPort);
      for (int port : ports) {
        p.rule("-d", lone.host, "--dport", String.valueOf(port));
        p.rule("-s", lone.host, "--sport", String.valueOf(port));
      }
      // Its connections to the others' listening ports (Hazelcast binds its outgoing sockets to
      // the member's address).
      for (ManagerProcess o : others) {
        Set<Integer> theirs = new TreeSet<>(listeningPorts(o));
        theirs.remove(o.httpsPort);
        for (int port : theirs) {
          p.rule("-s", lone.host, "-d", o.host, "--dport", String.valueOf(port));
          p.rule("-s", o.host, "-d", lone.host, "--sport", String.valueOf(port));
        }
      }
      return p;
    } catch (Exception | Error e) {
      p.close();
      throw e;
    }
  }

  /** TCP ports a manager's JVM listens on (its HTTPS, Hazelcast and event-bus ports). */
  static Set<Integer> listeningPorts(ManagerProcess m) throws IOException, InterruptedException {
    Tools.Out ss = Tools.sh("ss -ltnpH");
    Set<Integer> ports = new TreeSet<>();
    for (String line : ss.text().lines().toList()) {
      Matcher x = LISTEN.matcher(line);
      if (x.find() && Long.parseLong(x.group(3)) == m.pid()
          && x.group(1).replace("[", "").replace("]", "").replace("::ffff:", "").equals(m.host)) {
        ports.add(Integer.parseInt(x.group(2)));
      }
    }
    if (!ports.contains(m.clusterPort)) {
      throw new IllegalStateException("no Hazelcast port of " + m.node + " in: " + ss.text());
    }
    return ports;
  }

  private void rule(String... match) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of("-A", chain, "-p", "tcp"));
    args.addAll(List.of(match));
    args.addAll(List.of("-j", "DROP"));
    iptables(args.toArray(String[]::new));
  }

  private void iptables(String... args) throws IOException, InterruptedException {
    Tools.Out r = Tools.sh("iptables -w " + String.join(" ", args));
    if (r.exit() != 0) {
      throw new IllegalStateException("iptables " + String.join(" ", args) + ": " + r.text());
    }
  }

  private synchronized void remove() {
    if (removed) {
      return;
    }
    removed = true;
    try {
      Tools.sh("iptables -w -D OUTPUT -j " + chain + "; iptables -w -F " + chain + "; iptables -w -X " + chain);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("cannot remove iptables chain " + chain + "; remove it by hand", e);
    }
  }

  /** Heals the partition. */
  @Override
  public void close() {
    remove();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }
}
