package io.mkebackup.common.cluster;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A cluster map of strings whose values carry a MAC ({@link ValueSeal}): what goes in is sealed,
 * what comes out is checked, and a value that fails the check reads as absent. The stores use it
 * as they would the map; locks and key-only calls go straight to Hazelcast.
 */
public final class SealedMap {
  /** How often putIfAbsent retries when its replacement of a forged value races another writer. */
  private static final int PUT_ATTEMPTS = 10;

  private final IMap<String, String> map;
  private final ValueSeal seal;
  private final HazelcastInstance hazelcast;

  private SealedMap(IMap<String, String> map, ValueSeal seal, HazelcastInstance hazelcast) {
    this.map = map;
    this.seal = seal;
    this.hazelcast = hazelcast;
  }

  /** The named map of this instance, sealed with the instance's cluster trust. */
  public static SealedMap of(HazelcastInstance hazelcast, String name) {
    return new SealedMap(hazelcast.getMap(name), ClusterTrust.of(hazelcast).seal(), hazelcast);
  }

  /**
   * Calls {@code changed} whenever the cluster's membership changes or this member merges back
   * after a split: the moments an entry listener can miss changes (the entries a rejoining member
   * receives, or a departed member's last writes, raise no event here), so a copy kept by
   * {@link #listen} should be checked against the map again.
   */
  public void onMembershipChange(Runnable changed) {
    hazelcast.getLifecycleService().addLifecycleListener(e -> {
      if (e.getState() == com.hazelcast.core.LifecycleEvent.LifecycleState.MERGED) {
        changed.run();
      }
    });
    hazelcast.getCluster().addMembershipListener(new com.hazelcast.cluster.MembershipListener() {
      @Override
      public void memberAdded(com.hazelcast.cluster.MembershipEvent e) {
        changed.run();
      }

      @Override
      public void memberRemoved(com.hazelcast.cluster.MembershipEvent e) {
        changed.run();
      }
    });
  }

  public String name() {
    return map.getName();
  }

  public String get(String key) {
    return seal.unseal(name(), key, map.get(key));
  }

  /** As {@link #get}, without holding a thread while the cluster answers. */
  public java.util.concurrent.CompletionStage<String> getAsync(String key) {
    return map.getAsync(key).thenApply(v -> seal.unseal(name(), key, v));
  }

  /** A genuine value and when its entry expires (epoch ms; Long.MAX_VALUE for never). */
  public record View(String value, long expirationTime) {}

  /** The entry's genuine value with its expiration time, or null when absent or forged. */
  public View view(String key) {
    com.hazelcast.core.EntryView<String, String> v = map.getEntryView(key);
    String value = v == null ? null : seal.unseal(name(), key, v.getValue());
    return value == null ? null : new View(value, v.getExpirationTime());
  }

  /** The genuine values of those keys that have one. */
  public Map<String, String> getAll(Set<String> keys) {
    Map<String, String> out = new LinkedHashMap<>();
    map.getAll(keys).forEach((k, v) -> {
      String genuine = seal.unseal(name(), k, v);
      if (genuine != null) {
        out.put(k, genuine);
      }
    });
    return out;
  }

  /** Calls {@code ended} with every key removed, expired or evicted, anywhere in the cluster. */
  public UUID listenEnded(Consumer<String> ended) {
    return map.addEntryListener(new Ended(ended), false);
  }

  private record Ended(Consumer<String> ended) implements EntryRemovedListener<String, String>,
      com.hazelcast.map.listener.EntryExpiredListener<String, String>,
      com.hazelcast.map.listener.EntryEvictedListener<String, String> {
    @Override
    public void entryRemoved(EntryEvent<String, String> e) {
      ended.accept(e.getKey());
    }

    @Override
    public void entryExpired(EntryEvent<String, String> e) {
      ended.accept(e.getKey());
    }

    @Override
    public void entryEvicted(EntryEvent<String, String> e) {
      ended.accept(e.getKey());
    }
  }

  public boolean containsKey(String key) {
    return get(key) != null;
  }

  public void set(String key, String value) {
    map.set(key, seal.seal(name(), key, value));
  }

  public void set(String key, String value, long ttl, TimeUnit unit) {
    map.set(key, seal.seal(name(), key, value), ttl, unit);
  }

  /**
   * Puts the value unless a genuine one is there, and returns that one (null when this call put
   * its value). A forged value in the way is replaced, as if it were absent.
   */
  public String putIfAbsent(String key, String value) {
    String sealed = seal.seal(name(), key, value);
    for (int i = 0; i < PUT_ATTEMPTS; i++) {
      String prior = map.putIfAbsent(key, sealed);
      if (prior == null) {
        return null;
      }
      String genuine = seal.unseal(name(), key, prior);
      if (genuine != null) {
        return genuine;
      }
      if (map.replace(key, prior, sealed)) {
        return null;
      }
    }
    throw new IllegalStateException("cluster map " + name() + ": the value of " + ValueSeal.printable(key)
        + " keeps changing under this write");
  }

  /** Compare-and-set: the seal is deterministic, so the expected value's seal is what the map holds. */
  public boolean replace(String key, String expected, String next) {
    return map.replace(key, seal.seal(name(), key, expected), seal.seal(name(), key, next));
  }

  /** Removes the entry; returns its value when it was genuine. */
  public String remove(String key) {
    return seal.unseal(name(), key, map.remove(key));
  }

  /** Removes the entry unless another thread or member holds its lock (waiting at most {@code timeout}). */
  public boolean tryRemove(String key, long timeout, TimeUnit unit) {
    return map.tryRemove(key, timeout, unit);
  }

  public void delete(String key) {
    map.delete(key);
  }

  /** The genuine values. */
  public Collection<String> values() {
    return entries().values();
  }

  /** The genuine entries. */
  public Set<Map.Entry<String, String>> entrySet() {
    return entries().entrySet();
  }

  private Map<String, String> entries() {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : map.entrySet()) {
      String v = seal.unseal(name(), e.getKey(), e.getValue());
      if (v != null) {
        out.put(e.getKey(), v);
      }
    }
    return out;
  }

  public boolean tryLock(String key) {
    return map.tryLock(key);
  }

  public void lock(String key) {
    map.lock(key);
  }

  public void unlock(String key) {
    map.unlock(key);
  }

  public boolean isLocked(String key) {
    return map.isLocked(key);
  }

  /**
   * Follows changes: {@code put} gets each genuine value added or updated (forged ones are
   * skipped), {@code removed} each key removed.
   */
  public UUID listen(BiConsumer<String, String> put, Consumer<String> removed) {
    return map.addEntryListener(new Listener(put, removed), true);
  }

  private final class Listener implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String>,
      EntryRemovedListener<String, String>, com.hazelcast.map.listener.EntryMergedListener<String, String> {
    private final BiConsumer<String, String> put;
    private final Consumer<String> removed;

    Listener(BiConsumer<String, String> put, Consumer<String> removed) {
      this.put = put;
      this.removed = removed;
    }

    @Override
    public void entryAdded(EntryEvent<String, String> event) {
      changed(event);
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
      changed(event);
    }

    /** After a split heals, each entry the other side held that won the merge. */
    @Override
    public void entryMerged(EntryEvent<String, String> event) {
      changed(event);
    }

    private void changed(EntryEvent<String, String> event) {
      String v = seal.unseal(name(), event.getKey(), event.getValue());
      if (v != null) {
        put.accept(event.getKey(), v);
      }
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      removed.accept(event.getKey());
    }
  }
}
