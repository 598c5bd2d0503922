package io.mkebackup.deploy.cli;

import io.mkebackup.common.Threads;
import io.mkebackup.deploy.Logging;
import io.mkebackup.deploy.manager.Manager;
import io.mkebackup.deploy.manager.ManagerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mke-backup manager}: runs this node's backup service until stopped (SIGTERM, Ctrl-C). */
@Command(name = "manager", mixinStandardHelpOptions = true,
    description = {"Runs one manager node of the backup cluster: the HTTPS API (MKE's backup endpoints) and the",
        "backup worker, in a Hazelcast cluster with the other managers. Configuration from --config (JSON) and",
        "MKE_BACKUP_* / MKE_ADMIN_* environment variables; see the README for every key."})
public final class ManagerCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", defaultValue = "${env:MKE_BACKUP_CONFIG}",
      description = "JSON configuration file (env MKE_BACKUP_CONFIG); environment variables override it")
  Path config;

  @Override
  public Integer call() throws Exception {
    Logging.manager();
    ManagerConfig cfg = Manager.readConfig(config);
    java.util.logging.Logger.getLogger(ManagerCommand.class.getName()).info("starting: " + cfg);
    Manager manager = Manager.start(cfg);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(Threads.thread("mke-backup-shutdown", () -> {
      try {
        manager.close();
      } catch (Exception e) {
        // The process ends anyway; the log says what was left undone.
        java.util.logging.Logger.getLogger(ManagerCommand.class.getName()).warning("stopping: " + e);
      }
      stopped.countDown();
    }));
    stopped.await();
    return 0;
  }
}
