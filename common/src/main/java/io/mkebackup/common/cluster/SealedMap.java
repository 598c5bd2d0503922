package io.mkebackup.common.cluster;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import io.mkebackup.common.io.FileNames;
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
@SuppressWarnings("unchecked")
public final class SealedMap {
  /** How often putIfAbsent retries when its replacement of a forged value races another writer. */
  private static final int PUT_ATTEMPTS = 10;

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(SealedMap.class.getName());
  private static final Set<String> REFUSED = java.util.concurrent.ConcurrentHashMap.newKeySet();

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
    return readable(key, () -> map.get(key));
  }

  /**
   * The sealed string a read returns, or null when the entry holds something else: a value only
   * a member without the secret could have put (a type outside the deserialization allow-list is
   * refused by Hazelcast before its class is loaded; any other non-string is not ours either).
   */
  private String readable(String key, java.util.function.Supplier<Object> read) {
    Object raw;
    try {
      raw = read.get();
    } catch (com.hazelcast.nio.serialization.HazelcastSerializationException | SecurityException
        | ClassCastException e) {
      refused(key, e.getClass().getSimpleName());
      return null;
    }
    if (raw != null && !(raw instanceof String)) {
      refused(key, raw.getClass().getName());
      return null;
    }
    return seal.unseal(name(), key, (String) raw);
  }

  private void refused(Object key, String why) {
    if (REFUSED.size() < ValueSeal.MAX_LOGGED && REFUSED.add(name() + "\u0000" + key)) {
      LOG.warning("ignoring the entry " + FileNames.printable(String.valueOf(key), 100) + " of cluster map " + name()
          + ": it is not a string a manager wrote (" + why + "), so only a member without the cluster secret"
          + " can have put it there");
    }
  }

  /** As {@link #get}, without holding a thread while the cluster answers. */
  public java.util.concurrent.CompletionStage<String> getAsync(String key) {
    return ((IMap<String, Object>) (IMap<String, ?>) map).getAsync(key).handle((v, e) -> readable(key, () -> {
      if (e != null) {
        throw e instanceof java.util.concurrent.CompletionException c && c.getCause() instanceof RuntimeException r
            ? r : e instanceof RuntimeException r ? r : new IllegalStateException(e);
      }
      return v;
    }));
  }

  /** A genuine value and when its entry expires (epoch ms; Long.MAX_VALUE for never). */
  public record View(String value, long expirationTime) {}

  /** The entry's genuine value with its expiration time, or null when absent or forged. */
  public View view(String key) {
    com.hazelcast.core.EntryView<String, ?>[] v = new com.hazelcast.core.EntryView[1];
    String value = readable(key, () -> {
      v[0] = ((IMap<String, Object>) (IMap<String, ?>) map).getEntryView(key);
      return v[0] == null ? null : v[0].getValue();
    });
    return value == null ? null : new View(value, v[0].getExpirationTime());
  }

  /** The genuine values of those keys that have one. */
  public Map<String, String> getAll(Set<String> keys) {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, ?> all;
    try {
      all = ((IMap<String, Object>) (IMap<String, ?>) map).getAll(keys);
    } catch (com.hazelcast.nio.serialization.HazelcastSerializationException | SecurityException e) {
      // One planted value spoils the batch: read the keys one by one.
      for (String k : keys) {
        String genuine = get(k);
        if (genuine != null) {
          out.put(k, genuine);
        }
      }
      return out;
    }
    all.forEach((k, v) -> {
      String genuine = readable(k, () -> v);
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

  private final class Ended implements EntryRemovedListener<String, String>,
      com.hazelcast.map.listener.EntryExpiredListener<String, String>,
      com.hazelcast.map.listener.EntryEvictedListener<String, String> {
    private final Consumer<String> ended;

    Ended(Consumer<String> ended) {
      this.ended = ended;
    }

    private void end(EntryEvent<String, String> e) {
      String key = keyOf(e);
      if (key != null) {
        ended.accept(key);
      }
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> e) {
      end(e);
    }

    @Override
    public void entryExpired(EntryEvent<String, String> e) {
      end(e);
    }

    @Override
    public void entryEvicted(EntryEvent<String, String> e) {
      end(e);
    }
  }

  public boolean containsKey(String key) {
    return get(key) != null;
  }

  public void set(String key, String value) {
    map.set(key, seal.seal(name(), key, value));
  }

  /** {@link #set(String, String)} without waiting for the owner and the copies to acknowledge it. */
  public java.util.concurrent.CompletionStage<Void> setAsync(String key, String value) {
    return map.setAsync(key, seal.seal(name(), key, value));
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
    throw new IllegalStateException("cluster map " + name() + ": the value of " + FileNames.printable(key, 100)
        + " keeps changing under this write");
  }

  /** Compare-and-set: the seal is deterministic, so the expected value's seal is what the map holds. */
  public boolean replace(String key, String expected, String next) {
    return map.replace(key, seal.seal(name(), key, expected), seal.seal(name(), key, next));
  }

  /** Removes the entry; returns its value when it was genuine. */
  public String remove(String key) {
    return readable(key, () -> ((IMap<String, Object>) (IMap<String, ?>) map).remove(key));
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
    // Hazelcast reads each entry of the result as it is reached, so a planted key or value spoils
    // that entry only.
    java.util.Iterator<? extends Map.Entry<?, ?>> it = ((IMap<Object, Object>) (IMap<?, ?>) map).entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<?, ?> e;
      Object k;
      try {
        e = it.next();
        k = e.getKey();
      } catch (com.hazelcast.nio.serialization.HazelcastSerializationException | SecurityException x) {
        refused("?", x.getClass().getSimpleName());
        continue;
      }
      if (!(k instanceof String key)) {
        refused(k, "a key of type " + k.getClass().getName());
        continue;
      }
      String v = readable(key, e::getValue);
      if (v != null) {
        out.put(key, v);
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

  /** Frees the key's lock whoever holds it. */
  public void forceUnlock(String key) {
    map.forceUnlock(key);
  }

  public boolean isLocked(String key) {
    return map.isLocked(key);
  }

  /**
   * Follows changes: {@code put} gets each genuine value added or updated (forged ones are
   * skipped), {@code removed} each key removed.
   */
  public UUID listen(BiConsumer<String, String> put, Consumer<String> removed) {
    return listen(put, removed, (key, from) -> removed.accept(key), from -> { });
  }

  /**
   * As {@link #listen(BiConsumer, Consumer)}, with what a member that has not proven it holds the
   * cluster secret ({@link MemberProof}) removed, evicted or cleared told apart, so that it can be
   * put back: {@code strangerRemoved} gets each such key and the member, {@code strangerCleared}
   * the member that cleared or evicted the whole map (nothing a manager does).
   */
  public UUID listen(BiConsumer<String, String> put, Consumer<String> removed,
      BiConsumer<String, com.hazelcast.cluster.Member> strangerRemoved,
      Consumer<com.hazelcast.cluster.Member> strangerCleared) {
    return map.addEntryListener(new Listener(put, removed, strangerRemoved, strangerCleared, false), true);
  }

  /**
   * As {@link #listen(BiConsumer, Consumer, BiConsumer, Consumer)} for a map whose legitimate
   * removals leave a tombstone first: every removal, eviction, clear or forged overwrite goes to
   * {@code suspectRemoved}/{@code suspectCleared}, whichever member reports it. An event's member
   * does not say who asked: a Hazelcast client's removal is reported by the member that served
   * it, a proven manager, and a client needs only the cluster's derived name to connect.
   */
  public UUID listenSuspicious(BiConsumer<String, String> put,
      BiConsumer<String, com.hazelcast.cluster.Member> suspectRemoved,
      Consumer<com.hazelcast.cluster.Member> suspectCleared) {
    return map.addEntryListener(new Listener(put, key -> { }, suspectRemoved, suspectCleared, true), true);
  }

  /** Whether the member an event came from has not proven it holds the cluster secret. */
  private boolean fromStranger(com.hazelcast.cluster.Member from) {
    MemberProof proof = MemberProof.of(hazelcast);
    return proof != null && from != null && !proof.isProven(from);
  }

  /** The event's key when it is a string; null (and logged) when it is anything else. */
  private String keyOf(EntryEvent<?, ?> event) {
    Object k;
    try {
      k = event.getKey();
    } catch (com.hazelcast.nio.serialization.HazelcastSerializationException | SecurityException e) {
      refused("?", e.getClass().getSimpleName());
      return null;
    }
    if (k instanceof String key) {
      return key;
    }
    refused(k, "a key of type " + (k == null ? "null" : k.getClass().getName()));
    return null;
  }

  /** Entry events, removals told apart by who reported them (or, {@code suspectAll}, every one suspect). */
  private final class Listener implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String>,
      EntryRemovedListener<String, String>, com.hazelcast.map.listener.EntryMergedListener<String, String>,
      com.hazelcast.map.listener.EntryEvictedListener<String, String>, com.hazelcast.map.listener.MapClearedListener,
      com.hazelcast.map.listener.MapEvictedListener {
    private final BiConsumer<String, String> put;
    private final Consumer<String> removed;
    private final BiConsumer<String, com.hazelcast.cluster.Member> strangerRemoved;
    private final Consumer<com.hazelcast.cluster.Member> strangerCleared;
    private final boolean suspectAll;

    Listener(BiConsumer<String, String> put, Consumer<String> removed,
        BiConsumer<String, com.hazelcast.cluster.Member> strangerRemoved,
        Consumer<com.hazelcast.cluster.Member> strangerCleared, boolean suspectAll) {
      this.put = put;
      this.removed = removed;
      this.strangerRemoved = strangerRemoved;
      this.strangerCleared = strangerCleared;
      this.suspectAll = suspectAll;
    }

    private boolean suspect(com.hazelcast.cluster.Member from) {
      return suspectAll || fromStranger(from);
    }

    /** The maps this listens to have no eviction: only a stranger's evict call takes an entry out. */
    @Override
    public void entryEvicted(EntryEvent<String, String> event) {
      String key = keyOf(event);
      if (key != null && suspect(event.getMember())) {
        strangerRemoved.accept(key, event.getMember());
      }
    }

    @Override
    public void mapCleared(com.hazelcast.map.MapEvent event) {
      if (suspect(event.getMember())) {
        strangerCleared.accept(event.getMember());
      }
    }

    @Override
    public void mapEvicted(com.hazelcast.map.MapEvent event) {
      mapCleared(event);
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
      String key = keyOf(event);
      String v = key == null ? null : readable(key, ((EntryEvent<String, Object>) (EntryEvent<String, ?>) event)::getValue);
      if (v != null) {
        put.accept(key, v);
      } else if (key != null && suspect(event.getMember())) {
        // Overwritten with something that is not genuine: as good as removed.
        strangerRemoved.accept(key, event.getMember());
      }
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      String key = keyOf(event);
      if (key == null) {
        return;
      }
      if (suspect(event.getMember())) {
        strangerRemoved.accept(key, event.getMember());
      } else {
        removed.accept(key);
      }
    }
  }
}
