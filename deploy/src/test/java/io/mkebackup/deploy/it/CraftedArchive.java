package io.mkebackup.deploy.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mkebackup.common.ProductInfo;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.io.FileNames;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * An archive made by hand, as whoever can write to the backup share would make one: with Commons
 * Compress, a complete backup (ucp-* volumes, 27 or more entries, the controller's key, a
 * metadata entry last listing every entry with its SHA-256, etcd recorded as left out, tar end
 * blocks) that passes the checks of old, plus whatever entries a test adds.
 */
final class CraftedArchive {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant MTIME = Instant.parse("2026-01-02T03:04:05Z");

  private record Item(TarArchiveEntry entry, byte[] content, String type, boolean listed) {}

  private final List<Item> items = new ArrayList<>();
  private final Map<String, Object> header = new LinkedHashMap<>();
  private String canary = "CANARY";

  /** A complete, ordinary backup: two volumes, 31 entries. */
  static CraftedArchive backup() {
    CraftedArchive a = new CraftedArchive();
    a.header.put("format", ProductInfo.FORMAT_VERSION);
    a.header.put("product", ProductInfo.NAME);
    a.header.put("productVersion", ProductInfo.version());
    a.header.put("node", "crafted");
    a.header.put("createdAt", MTIME.toString());
    a.header.put("encrypted", false);
    a.header.put("etcd", null);
    a.dir("./ucp-controller-server-certs/", 0755).file(ArchiveLayout.REQUIRED_ENTRY, 0600, "-----BEGIN KEY-----");
    a.dir("./ucp-a/", 0755);
    for (int i = 0; i < 27; i++) {
      a.file("./ucp-a/f" + i, 0644, "ordinary content " + i);
    }
    return a;
  }

  /** Link targets name {@code CANARY} for this directory, which a test creates outside the volumes. */
  CraftedArchive withCanary(Path dir) {
    canary = dir.toString();
    return this;
  }

  CraftedArchive header(String field, Object value) {
    header.put(field, value);
    return this;
  }

  CraftedArchive withoutHeader(String field) {
    header.remove(field);
    return this;
  }

  CraftedArchive dir(String name, int mode) {
    return add(entry(name, TarConstants.LF_DIR, mode), new byte[0], "dir", true);
  }

  CraftedArchive file(String name, int mode, String content) {
    return file(name, mode, content.getBytes(StandardCharsets.UTF_8));
  }

  CraftedArchive file(String name, int mode, byte[] content) {
    TarArchiveEntry e = entry(name, TarConstants.LF_NORMAL, mode);
    e.setSize(content.length);
    return add(e, content, "file", true);
  }

  /** A file the tar holds but the metadata does not list. */
  CraftedArchive unlistedFile(String name, String content) {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry e = entry(name, TarConstants.LF_NORMAL, 0644);
    e.setSize(b.length);
    return add(e, b, "file", false);
  }

  CraftedArchive symlink(String name, String target) {
    TarArchiveEntry e = entry(name, TarConstants.LF_SYMLINK, 0777);
    e.setLinkName(target.replace("CANARY", canary));
    return add(e, new byte[0], "symlink", true);
  }

  CraftedArchive hardlink(String name, String target) {
    TarArchiveEntry e = entry(name, TarConstants.LF_LINK, 0644);
    e.setLinkName(target.replace("CANARY", canary));
    return add(e, new byte[0], "hardlink", true);
  }

  /** A character device (the metadata calls it "device", which a verifier of old took as "other"). */
  CraftedArchive device(String name, int major, int minor) {
    TarArchiveEntry e = entry(name, TarConstants.LF_CHR, 0666);
    e.setDevMajor(major);
    e.setDevMinor(minor);
    return add(e, new byte[0], "device", true);
  }

  private CraftedArchive add(TarArchiveEntry e, byte[] content, String type, boolean listed) {
    items.add(new Item(e, content, type, listed));
    return this;
  }

  private static TarArchiveEntry entry(String name, byte type, int mode) {
    TarArchiveEntry e = new TarArchiveEntry(name, type, true);
    e.setMode(mode);
    e.setUserId(0);
    e.setGroupId(0);
    e.setModTime(java.nio.file.attribute.FileTime.from(MTIME));
    return e;
  }

  /** Writes the tar: the entries, then the metadata listing them. */
  Path write(Path file) throws IOException {
    List<Map<String, Object>> listed = new ArrayList<>();
    for (Item i : items) {
      if (!i.listed()) {
        continue;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("path", i.entry().getName());
      m.put("type", i.type());
      m.put("size", (long) i.content().length);
      if (i.type().equals("file")) {
        m.put("sha256", sha256(i.content()));
      }
      if (i.type().endsWith("link")) {
        m.put("link", i.entry().getLinkName());
      }
      m.put("mode", String.format("%04o", i.entry().getMode() & 07777));
      listed.add(m);
    }
    Map<String, Object> metadata = new LinkedHashMap<>(header);
    metadata.put("entries", listed);
    byte[] json = JSON.writeValueAsBytes(metadata);
    try (OutputStream out = Files.newOutputStream(file);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out, 10240, FileNames.CHARSET_NAME)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
      for (Item i : items) {
        tar.putArchiveEntry(i.entry());
        tar.write(i.content());
        tar.closeArchiveEntry();
      }
      TarArchiveEntry meta = entry(ArchiveLayout.METADATA_ENTRY, TarConstants.LF_NORMAL, 0600);
      meta.setSize(json.length);
      tar.putArchiveEntry(meta);
      tar.write(json);
      tar.closeArchiveEntry();
    }
    return file;
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
