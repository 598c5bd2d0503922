package io.mkebackup.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class ThreadsTest {
  @Test
  void threadsAreNamedDaemonsAndWhatEscapesOneIsLogged() throws Exception {
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
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
    Logger log = Logger.getLogger(Threads.class.getName());
    log.addHandler(handler);
    try {
      Thread t = Threads.named("test-job").newThread(() -> {
        throw new IllegalStateException("boom");
      });
      assertThat(t.getName()).isEqualTo("test-job-1");
      assertThat(t.isDaemon()).isTrue();
      t.start();
      t.join(10_000);
      assertThat(logged).singleElement().satisfies(r -> {
        assertThat(r.getMessage()).isEqualTo("thread test-job-1 died");
        assertThat(r.getThrown()).hasMessage("boom");
      });
    } finally {
      log.removeHandler(handler);
    }
  }

  @Test
  void oneOffWorkRunsOnItsOwnNamedThreadNotTheCommonPool() {
    String name = CompletableFuture.supplyAsync(() -> Thread.currentThread().getName(), Threads.each("test-warm-up"))
        .join();
    assertThat(name).isEqualTo("test-warm-up");
  }

  @Test
  void aSchedulerIsOnePerNameAndEndsWithShutdownAndComesBackAfter() throws Exception {
    ScheduledExecutorService first = Threads.scheduler("test-chore");
    assertThat(Threads.scheduler("test-chore")).isSameAs(first);
    assertThat(first.submit(() -> Thread.currentThread().getName()).get(10, TimeUnit.SECONDS)).isEqualTo("test-chore");
    first.scheduleWithFixedDelay(() -> { }, 1, 1, TimeUnit.SECONDS);

    Threads.shutdown();

    assertThat(first.isTerminated()).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().equals("test-chore")));
    ScheduledExecutorService again = Threads.scheduler("test-chore");
    assertThat(again).isNotSameAs(first);
    assertThat(again.submit(() -> 1).get(10, TimeUnit.SECONDS)).isEqualTo(1);
  }
}
