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
 */
final class MapMirror {
  private static final Logger LOG = Logger.getLogger(MapMirror.class.getName());

  private final IMap<String, String> map;
  private final Path dir;
  private final String suffix;
  private final BiPredicate<String, String> diskWins;

  /**
   * @param diskWins given (in the map, on disk), whether the disk's value replaces the map's
   */
  MapMirror(IMap<String, String> map, Path dir, String suffix, BiPredicate<String, String> diskWins) {
    this.map = map;
    this.dir = dir;
    this.suffix = suffix;
    this.diskWins = diskWins;
  }

  /** Starts mirroring and merges the disk's entries in; returns how many came from disk. */
  int start() throws IOException {
    Files.createDirectories(dir);
    map.addEntryListener(new Listener(), true);
    int loaded = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (!name.endsWith(suffix) || name.startsWith(".") || !owns(name)) {
          continue;
        }
        String key = name.substring(0, name.length() - suffix.length());
        try {
          String onDisk = Files.readString(f);
          String prior = map.putIfAbsent(key, onDisk);
          if (prior == null || !prior.equals(onDisk) && diskWins.test(prior, onDisk) && map.replace(key, prior, onDisk)) {
            loaded++;
          }
        } catch (RuntimeException e) {
          LOG.warning("skipping unreadable file " + f + ": " + e.getMessage());
        }
      }
    }
    for (Map.Entry<String, String> e : map.entrySet()) {
      write(e.getKey(), e.getValue());
    }
    return loaded;
  }

  /** Files with a longer suffix ending in ours (x.contents.json vs .json) belong to another mirror. */
  private boolean owns(String name) {
    String key = name.substring(0, name.length() - suffix.length());
    return !key.contains(".");
  }

  private void write(String key, String value) {
    Path file = dir.resolve(key + suffix);
    Path tmp = dir.resolve("." + key + suffix + "." + UUID.randomUUID() + ".tmp");
    try {
      Files.writeString(tmp, value, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      LOG.warning("cannot mirror " + key + " to " + dir + ": " + e.getMessage());
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
      write(event.getKey(), event.getValue());
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
      write(event.getKey(), event.getValue());
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      try {
        Files.deleteIfExists(dir.resolve(event.getKey() + suffix));
      } catch (IOException e) {
        LOG.warning("cannot remove " + event.getKey() + " from " + dir + ": " + e.getMessage());
      }
    }
  }
}
