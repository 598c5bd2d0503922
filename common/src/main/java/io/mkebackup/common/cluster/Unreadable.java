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

  /** Mirror files left out at start-up. */
  int files() {
    return files.get();
  }

  /** Entries the last list skipped, plus mirror files left out at start-up. */
  int count() {
    return last.get() + files.get();
  }
}
