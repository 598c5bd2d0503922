package io.mkebackup.common.cluster;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.UUID;
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
 */
final class MapMirror {
  private static final Logger LOG = Logger.getLogger(MapMirror.class.getName());
  static final String TOMBSTONE = ".deleted";

  private final IMap<String, String> map;
  private final IMap<String, Long> tombstones;
  private final Path dir;
  private final String suffix;
  private final BiPredicate<String, String> diskWins;
  private java.util.function.Predicate<String> readable = v -> true;
  private java.util.function.BiConsumer<Path, RuntimeException> unreadable = (f, e) -> { };

  /**
   * @param tombstones the removed keys, or null for a map nothing is ever removed from
   * @param diskWins given (in the map, on disk), whether the disk's value replaces the map's
   */
  MapMirror(IMap<String, String> map, IMap<String, Long> tombstones, Path dir, String suffix,
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
    map.addEntryListener(new Listener(), true);
    if (tombstones != null) {
      tombstones.addEntryListener((EntryAddedListener<String, Long>) e -> buried(e.getKey(), e.getValue()), true);
      for (Path f : files(TOMBSTONE)) {
        String key = key(f, TOMBSTONE);
        try {
          tombstones.putIfAbsent(key, Long.parseLong(Files.readString(f).trim()));
        } catch (NumberFormatException e) {
          tombstones.putIfAbsent(key, Files.getLastModifiedTime(f).toMillis());
        }
      }
      // A member that started alone may have brought a removed key back before the member that
      // knew of its removal joined: take it out again.
      for (Map.Entry<String, Long> t : tombstones.entrySet()) {
        if (map.remove(t.getKey()) != null) {
          LOG.info("removed " + t.getKey() + " again: it was removed at " + java.time.Instant.ofEpochMilli(t.getValue())
              + " while a member holding a copy was down");
        }
        buried(t.getKey(), t.getValue());
      }
    }
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
   * Writes every entry the cluster holds now. After a split-brain merge this member's entries
   * were replaced by the larger side's without entry events, so its files must be written again.
   */
  void rewrite() {
    for (Map.Entry<String, String> e : map.entrySet()) {
      write(e.getKey() + suffix, e.getValue());
    }
  }

  /**
   * This mirror's files with the given suffix: not temporary ones, and not another mirror's (a
   * longer suffix ending in ours, x.contents.json against .json, leaves a dot in the key).
   */
  private java.util.List<Path> files(String withSuffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> {
        String name = f.getFileName().toString();
        return name.endsWith(withSuffix) && !name.startsWith(".") && !key(f, withSuffix).contains(".");
      }).toList();
    }
  }

  /** The key a mirror file holds: its name without the suffix. */
  private static String key(Path f, String withSuffix) {
    String name = f.getFileName().toString();
    return name.substring(0, name.length() - withSuffix.length());
  }

  private void buried(String key, long removedAt) {
    write(key + TOMBSTONE, Long.toString(removedAt));
    delete(key);
  }

  private void delete(String key) {
    try {
      Files.deleteIfExists(dir.resolve(key + suffix));
    } catch (IOException e) {
      LOG.warning("cannot remove " + key + " from " + dir + ": " + e.getMessage());
    }
  }

  private void write(String fileName, String value) {
    Path file = dir.resolve(fileName);
    Path tmp = dir.resolve("." + fileName + "." + UUID.randomUUID() + ".tmp");
    try {
      Files.writeString(tmp, value, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      LOG.warning("cannot mirror " + fileName + " to " + dir + ": " + e.getMessage());
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // nothing more to do
      }
    }
  }

  private final class Listener implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String>,
      EntryRemovedListener<String, String> {
    @Override
    public void entryAdded(EntryEvent<String, String> event) {
      write(event.getKey() + suffix, event.getValue());
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
      write(event.getKey() + suffix, event.getValue());
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      delete(event.getKey());
    }
  }
}
