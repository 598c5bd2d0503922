package io.mkebackup.deploy.manager;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Says in one line why a listed manager stays out of this cluster. Hazelcast refuses a member of
 * another cluster name and logs only "the target cluster has a different cluster-name"; the
 * cluster name is derived from the cluster secret, so that is what a manager of a version without
 * cluster trust, or one with another secret, looks like from here.
 */
final class ForeignMembers extends Handler {
  private static final Logger LOG = Logger.getLogger(ForeignMembers.class.getName());
  /** Held strongly: java.util.logging keeps loggers weakly, and a collected logger loses its handler. */
  private static final Logger HAZELCAST_CLUSTER = Logger.getLogger("com.hazelcast.cluster");
  static final String MISMATCH = "Cause: the target cluster has a different cluster-name";

  private final String fingerprint;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  private ForeignMembers(String fingerprint) {
    this.fingerprint = fingerprint;
  }

  /** Starts listening to Hazelcast's join warnings of this process. */
  static void watch(String fingerprint) {
    for (Handler h : HAZELCAST_CLUSTER.getHandlers()) {
      if (h instanceof ForeignMembers) {
        HAZELCAST_CLUSTER.removeHandler(h);
      }
    }
    HAZELCAST_CLUSTER.addHandler(new ForeignMembers(fingerprint));
  }

  @Override
  public void publish(LogRecord record) {
    String m = record.getMessage();
    int at = m == null ? -1 : m.indexOf("at node: ");
    int cause = m == null ? -1 : m.indexOf(MISMATCH);
    if (at < 0 || cause < at) {
      return;
    }
    String address = m.substring(at + "at node: ".length(), cause).trim();
    if (reported.add(address)) {
      LOG.warning("the Hazelcast member at " + address + " belongs to another cluster and this manager will not"
          + " join it: it is an mke-backup manager of a version without cluster trust, or one with another cluster"
          + " secret or clusterName. Upgrade every manager, and check that each logs 'trust fingerprint "
          + fingerprint + "'");
    }
  }

  @Override
  public void flush() {
    // nothing buffered
  }

  @Override
  public void close() {
    // nothing held
  }
}
