package io.mkebackup.common.cluster;

import io.mkebackup.common.io.FileNames;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * The entries of a cluster map that cannot be read: each is logged once with its id (a list read
 * twice a second must not flood the log) and the last count is kept for the metrics.
 */
final class Unreadable {
  private static final Logger LOG = Logger.getLogger(Unreadable.class.getName());
  /** Ids logged already; bounded so that a flood of bad keys cannot grow it without end. */
  private static final int MAX_REMEMBERED = 10_000;

  private final String what;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();
  private final AtomicInteger last = new AtomicInteger();
  private final AtomicInteger files = new AtomicInteger();

  Unreadable(String what) {
    this.what = what;
  }

  void report(String id, RuntimeException e) {
    if (reported.size() < MAX_REMEMBERED && reported.add(id)) {
      LOG.warning("skipping " + what + " " + FileNames.printable(id, 200) + ": it cannot be read ("
          + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + FileNames.printable(e.getMessage(), 200))
          + "); it is left as it is, left out of lists and counted in mke_backup_unreadable_entries");
    }
  }

  /** A mirror file not loaded at start-up. */
  void reportFile(java.nio.file.Path file, RuntimeException e) {
    files.incrementAndGet();
    report(file.getFileName().toString() + " in " + file.getParent(), e);
  }

  /**
   * The values of the entries that {@code parse} can read, which returns null (having reported
   * it) for those it cannot; their number is kept as the count.
   */
  <T> java.util.List<T> readAll(Iterable<java.util.Map.Entry<String, String>> entries,
      java.util.function.BiFunction<String, String, T> parse) {
    java.util.List<T> out = new java.util.ArrayList<>();
    int bad = 0;
    for (java.util.Map.Entry<String, String> e : entries) {
      T value = parse.apply(e.getKey(), e.getValue());
      if (value == null) {
        bad++;
      } else {
        out.add(value);
      }
    }
    last.set(bad);
    return out;
  }

  /**
   * The value {@code parse} makes of a stored entry, checked by {@code check}, or null (reported)
   * when either throws or the value names another id than its key: the one reading of a stored
   * entry, for both implementations of a store.
   */
  <T> T read(String key, String json, java.util.function.Function<io.vertx.core.json.JsonObject, T> parse,
      java.util.function.Function<T, String> idOf, java.util.function.Consumer<T> check) {
    try {
      T value = parse.apply(new io.vertx.core.json.JsonObject(json));
      String id = idOf.apply(value);
      if (!id.equals(key)) {
        throw new IllegalArgumentException("it names another id, " + id);
      }
      check.accept(value);
      return value;
    } catch (RuntimeException e) {
      report(key, e);
      return null;
    }
  }

  /** A stored JSON object, or empty when there is none or it cannot be read (reported as {@code name}). */
  java.util.Optional<io.vertx.core.json.JsonObject> json(String name, String json) {
    if (json == null) {
      return java.util.Optional.empty();
    }
    try {
      return java.util.Optional.of(new io.vertx.core.json.JsonObject(json));
    } catch (RuntimeException e) {
      report(name, e);
      return java.util.Optional.empty();
    }
  }

  /** Mirror files left out at start-up. */
  int files() {
    return files.get();
  }

  /** Entries the last list skipped, plus mirror files left out at start-up. */
  int count() {
    return last.get() + files.get();
  }
}
