package io.mkebackup.common.cluster;

import io.mkebackup.common.Threads;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.io.AtomicWrite;
import io.mkebackup.common.io.FileNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.BiPredicate;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Keeps a cluster map of JSON strings on this member's disk too, one file per key
 * ({@code <key><suffix>}, written atomically), and merges the files back at start, so the map
 * survives a restart of the whole cluster. Removals remove the file.
 *
 * <p>For a map whose keys are removed (schedules), a second cluster map of tombstones (key to
 * removal time), mirrored as {@code <key>.deleted} files, keeps a member that was down when a key
 * was removed from bringing its stale copy back when it returns: a tombstone, from the cluster or
 * from any member's disk, beats a value. Keys are never reused (random ids), so tombstones never
 * need to be lifted.
 *
 * <p>With tombstones, every removal is checked, whoever reports it: a removal without a
 * tombstone is put back from this member's file (a manager's removal writes the tombstone first;
 * a Hazelcast event names the member that carried out a removal, which for a client's removal is
 * the manager that served it, so the event alone cannot tell a manager's removal from a
 * stranger's). Without tombstones, only removals reported by unproven members are put back.
 *
 * <p>Files are named only from keys that are UUIDs in canonical form (every key of these maps is
 * one): a key from the cluster is not trusted to name a file, and a key like {@code ../x} is
 * ignored. Values reach the disk only when their MAC checks ({@link SealedMap}); the files hold
 * the plain values, as written by this member, and are sealed again when merged back.
 */
final class MapMirror {
  private static final Logger LOG = Logger.getLogger(MapMirror.class.getName());
  static final String TOMBSTONE = ".deleted";
  /** Keys refused so far, each logged once. */
  private static final java.util.Set<String> REFUSED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final SealedMap map;
  private final SealedMap tombstones;
  private final Path dir;
  private final String suffix;
  private final BiPredicate<String, String> diskWins;
  private java.util.function.Predicate<String> readable = v -> true;
  private java.util.function.BiConsumer<Path, RuntimeException> unreadable = (f, e) -> { };

  /**
   * @param tombstones the removed keys, or null for a map nothing is ever removed from
   * @param diskWins given (in the map, on disk), whether the disk's value replaces the map's
   */
  MapMirror(SealedMap map, SealedMap tombstones, Path dir, String suffix,
      BiPredicate<String, String> diskWins) {
    this.map = map;
    this.tombstones = tombstones;
    this.dir = dir;
    this.suffix = suffix;
    this.diskWins = diskWins;
  }

  /**
   * Leaves out, at start, the files whose value cannot be read (the check returns false or
   * throws), so a corrupt file never reaches the cluster and every other member's mirror; the
   * callback logs and counts it. The file stays for the operator to look at.
   */
  MapMirror readable(java.util.function.Predicate<String> check, java.util.function.BiConsumer<Path, RuntimeException> onUnreadable) {
    this.readable = check;
    this.unreadable = onUnreadable;
    return this;
  }

  static boolean isJsonObject(String value) {
    new io.vertx.core.json.JsonObject(value);
    return true;
  }

  /** Starts mirroring and merges the disk's entries in; returns how many came from disk. */
  int start() throws IOException {
    Files.createDirectories(dir);
    BiConsumer<String, String> put = (key, value) -> {
      if (validKey(key, map)) {
        write(key + suffix, value);
      }
    };
    BiConsumer<String, com.hazelcast.cluster.Member> suspectRemoved = (key, from) -> {
      if (validKey(key, map)) {
        Threads.scheduler(HEALER).execute(() -> restore(key, from));
      }
    };
    java.util.function.Consumer<com.hazelcast.cluster.Member> suspectCleared = from -> Threads.scheduler(HEALER)
        .execute(() -> restoreAll(from));
    if (tombstones != null) {
      // The file of a key removed with its tombstone goes when the tombstone arrives (buried).
      map.listenSuspicious(put, suspectRemoved, suspectCleared);
    } else {
      listenTrusting(put, suspectRemoved, suspectCleared);
    }
    if (tombstones != null) {
      tombstones.listen((key, removedAt) -> {
        if (validKey(key, tombstones)) {
          buried(key, removedAt(removedAt));
        }
      }, key -> { });
      for (Path f : files(TOMBSTONE)) {
        String key = key(f, TOMBSTONE);
        try {
          tombstones.putIfAbsent(key, Long.toString(Long.parseLong(Files.readString(f).trim())));
        } catch (NumberFormatException e) {
          tombstones.putIfAbsent(key, Long.toString(Files.getLastModifiedTime(f).toMillis()));
        }
      }
      // A member that started alone may have brought a removed key back before the member that
      // knew of its removal joined: take it out again.
      for (Map.Entry<String, String> t : tombstones.entrySet()) {
        if (!validKey(t.getKey(), tombstones)) {
          continue;
        }
        long at = removedAt(t.getValue());
        if (map.remove(t.getKey()) != null) {
          LOG.info("removed " + t.getKey() + " again: it was removed at " + java.time.Instant.ofEpochMilli(at)
              + " while a member holding a copy was down");
        }
        buried(t.getKey(), at);
      }
    }
    return loadFromDisk();
  }

  /** A map without tombstones: removals reported by a proven member are taken as they come. */
  private void listenTrusting(BiConsumer<String, String> put, BiConsumer<String, com.hazelcast.cluster.Member> strangerRemoved,
      java.util.function.Consumer<com.hazelcast.cluster.Member> strangerCleared) {
    map.listen(put, key -> {
      if (validKey(key, map)) {
        delete(key);
      }
    }, strangerRemoved, strangerCleared);
  }

  /** Merges the files into the map; returns how many came from disk. */
  private int loadFromDisk() throws IOException {
    int loaded = 0;
    for (Path f : files(suffix)) {
      String key = key(f, suffix);
      if (tombstones != null && tombstones.containsKey(key)) {
        Files.deleteIfExists(f);
        continue;
      }
      try {
        String onDisk;
        try {
          onDisk = Files.readString(f);
          if (!readable.test(onDisk)) {
            throw new IllegalArgumentException("not a valid entry");
          }
        } catch (IOException e) {
          unreadable.accept(f, new java.io.UncheckedIOException(e));
          continue;
        } catch (RuntimeException e) {
          unreadable.accept(f, e);
          continue;
        }
        String prior = map.putIfAbsent(key, onDisk);
        if (prior == null || !prior.equals(onDisk) && diskWins.test(prior, onDisk) && map.replace(key, prior, onDisk)) {
          loaded++;
        }
      } catch (RuntimeException e) {
        LOG.warning("skipping unreadable file " + f + ": " + e.getMessage());
      }
    }
    rewrite();
    return loaded;
  }

  /**
   * Puts this member's copy of an entry back when a member that has not proven it holds the
   * cluster secret removed it, or (a map with tombstones) anything removed it without the
   * tombstone a manager's removal writes first (the removal left the file alone). Every member's
   * mirror tries; the first put wins and says so.
   */
  private void restore(String key, com.hazelcast.cluster.Member from) {
    try {
      if (tombstones != null && tombstones.containsKey(key)) {
        return;
      }
      Path f = inDir(key + suffix);
      if (!Files.exists(f)) {
        return;
      }
      String onDisk = Files.readString(f);
      if (!readable.test(onDisk)) {
        return;
      }
      if (map.putIfAbsent(key, onDisk) == null) {
        LOG.warning("restored " + key + " in cluster map " + map.name() + " from " + f + ": " + (tombstones == null
            ? "the Hazelcast member at " + from.getAddress() + " removed it, and it has not proven it holds the"
                + " cluster secret"
            : "it was removed (through the Hazelcast member at " + (from == null ? "?" : from.getAddress())
                + ") without the tombstone a manager's removal writes first, so by a Hazelcast member or client"
                + " without the cluster secret"));
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("cannot restore " + key + " in cluster map " + map.name() + " after the Hazelcast member at "
          + (from == null ? "?" : from.getAddress()) + " removed it: " + e.getMessage());
    }
  }

  /** Restores every entry this mirror has a file of and the cluster lacks. */
  private void restoreAll(com.hazelcast.cluster.Member from) {
    try {
      for (Path f : files(suffix)) {
        restore(key(f, suffix), from);
      }
    } catch (IOException e) {
      LOG.warning("cannot list " + dir + " to restore cluster map " + map.name() + ": " + e.getMessage());
    }
  }

  /** Restores off Hazelcast's event threads: a map call there would hold up every later event. */
  private static final String HEALER = "mke-backup-mirror-heal";

  /**
   * Writes every entry the cluster holds now. After a split-brain merge this member's entries
   * were replaced by the larger side's without entry events, so its files must be written again.
   */
  void rewrite() {
    for (Map.Entry<String, String> e : map.entrySet()) {
      if (validKey(e.getKey(), map)) {
        write(e.getKey() + suffix, e.getValue());
      }
    }
  }

  /**
   * Whether a key may name a file: a UUID in canonical form. Any other key came from something
   * that is not a manager; it is logged once and never touches the disk.
   */
  static boolean validKey(String key) {
    return JobRules.isUuid(key);
  }

  private static boolean validKey(String key, SealedMap from) {
    if (validKey(key)) {
      return true;
    }
    if (REFUSED.size() < ValueSeal.MAX_LOGGED && REFUSED.add(from.name() + "\u0000" + key)) {
      LOG.warning("ignoring key " + FileNames.printable(key, 100) + " in cluster map " + from.name()
          + ": not an id a manager makes, so it names no file");
    }
    return false;
  }

  private static long removedAt(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return System.currentTimeMillis();
    }
  }

  /**
   * This mirror's files with the given suffix: not temporary ones, and not another mirror's (a
   * longer suffix ending in ours, x.contents.json against .json, leaves no UUID as the key).
   */
  private java.util.List<Path> files(String withSuffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> {
        String name = f.getFileName().toString();
        return name.endsWith(withSuffix) && !name.startsWith(".") && validKey(key(f, withSuffix));
      }).toList();
    }
  }

  /** The key a mirror file holds: its name without the suffix. */
  private static String key(Path f, String withSuffix) {
    String name = f.getFileName().toString();
    return name.substring(0, name.length() - withSuffix.length());
  }

  /**
   * Writes a removal's tombstone (and drops the entry's file) now, on the member that removes,
   * before it removes: the tombstone listener writes it too, but later, and a member stopped right
   * after a removal (the last one up, in a whole-cluster restart) would start again without it
   * and bring the removed entry back.
   */
  void bury(String key, long removedAt) {
    if (validKey(key)) {
      buried(key, removedAt);
    }
  }

  /** Drops an entry's file now (a map without tombstones whose entry goes with another's removal). */
  void forget(String key) {
    if (validKey(key)) {
      delete(key);
    }
  }

  /**
   * Records a removal: its tombstone in the cluster, then (when this member mirrors the map) on
   * this member's disk at once, see {@link #bury}.
   */
  static void tombstone(SealedMap tombstones, MapMirror mirrored, String key) {
    long at = System.currentTimeMillis();
    tombstones.set(key, Long.toString(at));
    if (mirrored != null) {
      mirrored.bury(key, at);
    }
  }

  private void buried(String key, long removedAt) {
    write(key + TOMBSTONE, Long.toString(removedAt));
    delete(key);
  }

  private void delete(String key) {
    try {
      Files.deleteIfExists(inDir(key + suffix));
    } catch (IOException e) {
      LOG.warning("cannot remove " + key + " from " + dir + ": " + e.getMessage());
    }
  }

  /** The file of that name in this mirror's directory; never a path that leaves it. */
  private Path inDir(String fileName) {
    Path file = dir.resolve(fileName).normalize();
    if (!dir.normalize().equals(file.getParent())) {
      throw new IllegalArgumentException("not a file name of " + dir + ": " + FileNames.printable(fileName, 100));
    }
    return file;
  }

  /**
   * Writes one entry's file so that it is whole after a crash or power cut (written beside, fsynced,
   * renamed, the directory fsynced): this copy is what a cluster restarted from nothing loads.
   * It runs on Hazelcast's event thread: two fsyncs per change, a few milliseconds on a local disk,
   * against one change per backup step.
   */
  private void write(String fileName, String value) {
    Path file = inDir(fileName);
    try {
      AtomicWrite.write(file, value.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      LOG.warning("cannot mirror " + fileName + " to " + dir + ": " + e.getMessage());
    }
  }
}
