package io.mkebackup.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link SessionWatch} on the in-memory token store and a real Vert.x, no cluster: a logout or an
 * announced expiry ends the token's streams (each once) through the store's ended event, an expiry
 * not announced (yet) through the sweep at an instant the test chooses, and streams of other tokens, or closed ones, are left alone. Every
 * step runs on the watch's context and the test waits for that context to have run what was
 * queued before it (no sleeping); {@link SessionWatchIT} does the same on a Hazelcast member.
 */
class SessionWatchTest {
  static final Duration TTL = Duration.ofHours(1);
  static final UserAccount ADMIN = new UserAccount("admin", "$2a$10$unused", java.util.Set.of(UserAccount.ADMIN));

  final TestClock clock = new TestClock(Instant.parse("2026-06-01T00:00:00Z"));
  final InMemoryTokenStore tokens = new InMemoryTokenStore(TTL, clock);
  Vertx vertx;
  Context context;
  SessionWatch watch;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    watch = new SessionWatch(vertx, tokens);
    onContext(() -> {
      watch.start();
      return null;
    });
  }

  @AfterEach
  void stop() throws Exception {
    onContext(() -> {
      watch.stop();
      return null;
    });
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Runs on the watch's context once what was queued there before has run; waits for its value. */
  <T> T onContext(Supplier<T> task) throws Exception {
    CompletableFuture<T> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        done.complete(task.get());
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      }
    });
    return done.get(10, TimeUnit.SECONDS);
  }

  /** Sweeps on the watch's context and waits until the streams of what it found ended are ended. */
  void sweep() throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> watch.sweep().onComplete(r -> done.complete(null)));
    done.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aLogoutEndsEachOfItsStreamsOnceAndNoOtherStream() throws Exception {
    String out = tokens.issue(ADMIN);
    String stays = tokens.issue(ADMIN);
    AtomicInteger outEnded = new AtomicInteger();
    AtomicInteger staysEnded = new AtomicInteger();
    onContext(() -> {
      watch.watch(out, outEnded::incrementAndGet);
      watch.watch(out, outEnded::incrementAndGet);
      return watch.watch(stays, staysEnded::incrementAndGet);
    });
    assertThat(onContext(watch::watched)).isEqualTo(2);

    tokens.revoke(out);
    assertThat(onContext(outEnded::get)).as("both streams of the logged-out token").isEqualTo(2);
    assertThat(staysEnded).hasValue(0);
    assertThat(onContext(watch::watched)).isEqualTo(1);

    tokens.revoke(out);
    sweep();
    assertThat(onContext(outEnded::get)).as("ended once, however often it is heard of").isEqualTo(2);
  }

  @Test
  void theSweepEndsTheStreamsOfTokensThatExpiredAndOnlyThose() throws Exception {
    // As on a member the expiry's event has not reached: only the sweep can end these streams.
    tokens.announceExpiries(false);
    String early = tokens.issue(ADMIN);
    clock.advance(TTL.dividedBy(2));
    String late = tokens.issue(ADMIN);
    CompletableFuture<Void> earlyEnded = new CompletableFuture<>();
    AtomicInteger lateEnded = new AtomicInteger();
    onContext(() -> {
      watch.watch(early, () -> earlyEnded.complete(null));
      return watch.watch(late, lateEnded::incrementAndGet);
    });

    clock.advance(TTL.dividedBy(2).minusMillis(1));
    sweep();
    assertThat(onContext(watch::watched)).as("a millisecond before the first expiry").isEqualTo(2);

    clock.advance(Duration.ofMillis(1));
    sweep();
    assertThat(earlyEnded).isDone();
    assertThat(onContext(watch::watched)).isEqualTo(1);
    assertThat(lateEnded).hasValue(0);
  }

  @Test
  void anExpiryTheStoreAnnouncesEndsTheStreamsWithoutASweep() throws Exception {
    String early = tokens.issue(ADMIN);
    String late;
    clock.advance(TTL.dividedBy(2));
    late = tokens.issue(ADMIN);
    AtomicInteger earlyEnded = new AtomicInteger();
    AtomicInteger lateEnded = new AtomicInteger();
    onContext(() -> {
      watch.watch(early, earlyEnded::incrementAndGet);
      return watch.watch(late, lateEnded::incrementAndGet);
    });
    clock.advance(TTL.dividedBy(2));
    assertThat(tokens.lookup(late)).as("the store's next call announces the expiry").isPresent();
    assertThat(onContext(earlyEnded::get)).isEqualTo(1);
    assertThat(lateEnded).hasValue(0);
    assertThat(onContext(watch::watched)).isEqualTo(1);
  }

  @Test
  void aClosedStreamIsNotEndedAndItsTokenIsForgottenWithItsLastStream() throws Exception {
    String token = tokens.issue(ADMIN);
    AtomicInteger closedEnded = new AtomicInteger();
    AtomicInteger openEnded = new AtomicInteger();
    Runnable cancelClosed = onContext(() -> watch.watch(token, closedEnded::incrementAndGet));
    Runnable cancelOpen = onContext(() -> watch.watch(token, openEnded::incrementAndGet));

    onContext(() -> {
      cancelClosed.run();
      return null;
    });
    assertThat(onContext(watch::watched)).isEqualTo(1);
    tokens.revoke(token);
    assertThat(onContext(openEnded::get)).isEqualTo(1);
    assertThat(closedEnded).hasValue(0);

    String other = tokens.issue(ADMIN);
    Runnable cancel = onContext(() -> watch.watch(other, () -> { }));
    onContext(() -> {
      cancel.run();
      return null;
    });
    assertThat(onContext(watch::watched)).as("no stream left: nothing watched").isZero();
    cancelOpen.run();
  }
}
