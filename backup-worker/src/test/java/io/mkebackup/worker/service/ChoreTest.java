package io.mkebackup.worker.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A chore on a real Vert.x: its named thread, passes that never overlap nor pile up, and close. */
class ChoreTest {
  final Vertx vertx = Vertx.vertx();

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void passesAskedForWhileOneRunsBecomeOneMorePass() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger passes = new AtomicInteger();
    AtomicInteger running = new AtomicInteger();
    List<Integer> overlaps = new CopyOnWriteArrayList<>();
    Chore chore = new Chore(vertx, "test-chore-" + System.nanoTime(), () -> {
      overlaps.add(running.incrementAndGet());
      passes.incrementAndGet();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        running.decrementAndGet();
      }
    });
    try {
      chore.runSoon();
      await().atMost(Duration.ofSeconds(5)).until(() -> passes.get() == 1);
      for (int i = 0; i < 5; i++) {
        chore.runSoon();
      }
      release.countDown();
      await().atMost(Duration.ofSeconds(5)).until(() -> passes.get() == 2 && running.get() == 0);
      await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> passes.get() == 2);
      assertThat(overlaps).containsOnly(1);
    } finally {
      chore.close();
    }
  }

  @Test
  void aPeriodicChoreRunsOnItsNamedThreadUntilClosed() {
    String name = "test-chore-" + System.nanoTime();
    List<String> threads = new CopyOnWriteArrayList<>();
    Chore chore = new Chore(vertx, name, () -> threads.add(Thread.currentThread().getName()));
    chore.every(Duration.ofMillis(10), Duration.ofMillis(10));
    await().atMost(Duration.ofSeconds(5)).until(() -> threads.size() >= 3);
    chore.close();
    int after = threads.size();
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> threads.size() <= after + 1);
    assertThat(threads).allMatch(t -> t.startsWith(name));
  }
}
