package io.mkebackup.common.cluster;

import io.mkebackup.common.io.FileNames;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * MACs on the values of the cluster's maps: a sealed value is {@code mac1:<tag>:<value>}, the tag
 * an HMAC-SHA256 under a key derived from the cluster secret over the map's name, the entry's key
 * and the value, so a value cannot be moved to another key or map. Hazelcast itself admits anyone
 * who knows the cluster name, so a value whose tag is missing or wrong was not written by a
 * manager: it is treated as absent and logged once per map and key.
 */
public final class ValueSeal {
  private static final Logger LOG = Logger.getLogger(ValueSeal.class.getName());
  static final String PREFIX = "mac1:";
  private static final int TAG_CHARS = 43; // 32 bytes, base64url without padding
  /** Entries logged as forged; beyond this many a flood is summarised instead of logged line by line. */
  static final int MAX_LOGGED = 1000;

  private final SecretKeySpec key;
  private final Set<String> logged = ConcurrentHashMap.newKeySet();

  ValueSeal(byte[] key) {
    this.key = new SecretKeySpec(key, "HmacSHA256");
  }

  public String seal(String map, String key, String value) {
    return PREFIX + tag(map, key, value) + ":" + value;
  }

  /** The value, or null when the tag is missing or wrong (logged once per map and key). */
  public String unseal(String map, String key, String sealed) {
    if (sealed == null) {
      return null;
    }
    if (sealed.length() > PREFIX.length() + TAG_CHARS && sealed.startsWith(PREFIX)
        && sealed.charAt(PREFIX.length() + TAG_CHARS) == ':') {
      String value = sealed.substring(PREFIX.length() + TAG_CHARS + 1);
      byte[] given = sealed.substring(PREFIX.length(), PREFIX.length() + TAG_CHARS).getBytes(StandardCharsets.US_ASCII);
      if (MessageDigest.isEqual(given, tag(map, key, value).getBytes(StandardCharsets.US_ASCII))) {
        return value;
      }
    }
    forged(map, key);
    return null;
  }

  /** Logs a value without a valid tag, once per map and key. */
  void forged(String map, String key) {
    if (logged.size() < MAX_LOGGED) {
      if (logged.add(map + "\u0000" + key)) {
        LOG.warning("ignoring the value of " + FileNames.printable(key, 100) + " in cluster map " + map
            + ": its MAC is missing or wrong, so no manager of this cluster wrote it (something that joined the"
            + " cluster without the cluster secret did, or a manager of an older version)");
      }
    } else if (logged.add("\u0000overflow")) {
      LOG.warning("more than " + MAX_LOGGED + " forged cluster-map values; ignoring further ones without logging each");
    }
  }

  private String tag(String map, String key, String value) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(this.key);
      for (String part : new String[] {map, key}) {
        byte[] b = part.getBytes(StandardCharsets.UTF_8);
        mac.update(ByteBuffer.allocate(4).putInt(b.length).array());
        mac.update(b);
      }
      mac.update(value.getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }
}
