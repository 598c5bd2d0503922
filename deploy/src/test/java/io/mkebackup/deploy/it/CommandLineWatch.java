package io.mkebackup.deploy.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * Samples every process's command line ({@code /proc/<pid>/cmdline}, what {@code ps} shows every
 * user) on a thread of its own while a test runs, and keeps the ones that hold a secret, with the
 * secret masked. Short-lived processes (curl, gpg) live tens of milliseconds; a pass every few
 * milliseconds sees them.
 */
final class CommandLineWatch implements AutoCloseable {
  private final List<String> secrets = new CopyOnWriteArrayList<>();
  private final Set<String> leaks = ConcurrentHashMap.newKeySet();
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final AtomicLong passes = new AtomicLong();
  private final Thread sampler;
  private volatile boolean running = true;

  private CommandLineWatch() {
    sampler = new Thread(this::sample, "cmdline-watch");
    sampler.setDaemon(true);
    sampler.start();
  }

  static CommandLineWatch start(String... secrets) {
    CommandLineWatch w = new CommandLineWatch();
    for (String s : secrets) {
      w.watch(s);
    }
    return w;
  }

  /** Adds a secret to look for (a token once issued, say). */
  void watch(String secret) {
    if (secret != null && !secret.isEmpty()) {
      secrets.add(secret);
    }
  }

  /** Command lines that held a secret (masked). */
  List<String> leaks() {
    return List.copyOf(leaks);
  }

  /** Whether a command line matching the predicate was seen: proof that the sampling saw the commands. */
  boolean saw(Predicate<String> commandLine) {
    return seen.stream().anyMatch(commandLine);
  }

  long passes() {
    return passes.get();
  }

  private void sample() {
    while (running) {
      try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
          .chars().allMatch(Character::isDigit))) {
        for (Path p : procs) {
          String line;
          try {
            line = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
          } catch (IOException | RuntimeException gone) {
            continue;
          }
          if (line.isEmpty()) {
            continue;
          }
          String masked = line;
          for (String s : secrets) {
            masked = masked.replace(s, "<SECRET>");
          }
          if (!masked.equals(line)) {
            leaks.add(p.getFileName() + ": " + masked);
          }
          if (seen.size() < 10_000) {
            seen.add(masked);
          }
        }
      } catch (IOException e) {
        // /proc went away? try again
      }
      passes.incrementAndGet();
      LockSupport.parkNanos(3_000_000L);
    }
  }

  /**
   * Stops sampling and fails when a secret showed on a command line, or when the sampling never
   * saw a command line the test knows ran while it watched ({@code proof}, described by
   * {@code what}): without that, a sampler that read nothing (or not the commands that matter)
   * would pass as "no leaks".
   */
  void closeAndAssertNoLeaks(String what, Predicate<String> proof) throws InterruptedException {
    close();
    org.assertj.core.api.Assertions.assertThat(passes()).as("sampling passes").isPositive();
    org.assertj.core.api.Assertions.assertThat(saw(proof)).as("the sampling saw " + what).isTrue();
    org.assertj.core.api.Assertions.assertThat(leaks()).as("secrets on a command line").isEmpty();
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    sampler.join(5_000);
  }
}
