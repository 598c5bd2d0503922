package io.mkebackup.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.progress.Step;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class ProgressTest {
  /** A listener that fails (a closed terminal, a full event bus): the run goes on, and it is said once. */
  @Test
  void aFailingListenerIsLoggedOnceAndDoesNotStopTheRun() {
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
    Logger logger = Logger.getLogger(Progress.class.getName());
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    int[] calls = {0};
    Progress progress = new Progress("7c0e", e -> {
      calls[0]++;
      throw new IllegalStateException("the terminal is gone");
    });
    logger.addHandler(handler);
    try {
      progress.started(Step.VALIDATION, "", "checking");
      progress.started(Step.VOLUME, "ucp-a", "ucp-a");
      progress.started(Step.VOLUME, "ucp-b", "ucp-b");
    } finally {
      logger.removeHandler(handler);
    }
    assertThat(calls[0]).isEqualTo(3);
    assertThat(logged).singleElement().satisfies(r -> {
      assertThat(r.getLevel()).isEqualTo(Level.WARNING);
      assertThat(r.getMessage()).contains("7c0e").contains("the terminal is gone");
    });
  }
}
