package io.mkebackup.common.cluster;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Cuts one loopback address off, as a network partition would a host: every packet from or to
 * it is dropped (iptables, in a chain of its own hooked into OUTPUT, which loopback packets pass).
 * Members in this JVM bound to that address then neither send nor receive. {@link #close()}
 * removes the rules (also at JVM exit, should the test die). Needs root, as the tests run here.
 */
final class LoopbackCut implements AutoCloseable {
  private final String chain;
  private final Thread cleanup = new Thread(this::remove, "loopback-cut-cleanup");
  private boolean removed;

  private LoopbackCut() {
    this("MKECUT-" + UUID.randomUUID().toString().substring(0, 8));
  }

  static LoopbackCut off(String address) throws IOException, InterruptedException {
    removeStale();
    LoopbackCut c = new LoopbackCut();
    Runtime.getRuntime().addShutdownHook(c.cleanup);
    try {
      c.iptables("-N", c.chain);
      c.iptables("-A", c.chain, "-s", address, "-j", "DROP");
      c.iptables("-A", c.chain, "-d", address, "-j", "DROP");
      c.iptables("-I", "OUTPUT", "-j", c.chain);
      return c;
    } catch (IOException | InterruptedException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /**
   * Chains a test JVM killed before its clean-up left behind (a shutdown hook does not run on
   * SIGKILL): one JVM cuts at a time here, so any such chain is stale.
   */
  private static void removeStale() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("iptables", "-w", "-S").redirectErrorStream(true).start();
    String rules = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    for (String line : rules.lines().toList()) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("^-N (MKECUT-[0-9a-f]{8})$").matcher(line);
      if (m.matches()) {
        LoopbackCut stale = new LoopbackCut(m.group(1));
        stale.remove();
      }
    }
  }

  private LoopbackCut(String chain) {
    this.chain = chain;
  }

  private void iptables(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("iptables", "-w"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", cmd) + ": " + out);
    }
  }

  private synchronized void remove() {
    if (removed) {
      return;
    }
    removed = true;
    for (String[] args : List.of(new String[] {"-D", "OUTPUT", "-j", chain}, new String[] {"-F", chain},
        new String[] {"-X", chain})) {
      try {
        iptables(args);
      } catch (IOException | InterruptedException e) {
        // already gone, or never made
      }
    }
  }

  @Override
  public void close() {
    remove();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException exiting) {
      // the hook runs anyway
    }
  }
}
