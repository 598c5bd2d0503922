package io.mkebackup.common.archive;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The archive's metadata entry ({@link ArchiveLayout#METADATA_ENTRY}) as one typed value: what the
 * backup writes and what verify, restore and the catalog's "contents" read. Its JSON is the format
 * of every archive made so far, so {@link #write} keeps the fields in their order and shape (the
 * run's warnings, then the writer's warnings under the same name again, then the counts and the
 * entry list) and {@link #read} takes what older or hand-made archives hold: a field that is
 * missing or of another type reads as null, a field it does not know is skipped.
 *
 * @param format {@code ProductInfo.FORMAT_VERSION} of the writer
 * @param createdAt an {@code Instant} as text
 * @param etcd the snapshot, or null
 * @param etcdLeftOut the metadata says {@code "etcd": null}: the backup was taken without etcd
 *     (an archive without a snapshot must say so, or its snapshot was removed)
 * @param warnings the run's warnings
 * @param listing what the archive writer adds when it ends the archive; null until then
 */
public record ArchiveMetadata(
    Integer format,
    String product,
    String productVersion,
    String backupId,
    String node,
    String createdAt,
    Boolean encrypted,
    String dockerVersion,
    List<Volume> volumes,
    List<String> excludedVolumes,
    Etcd etcd,
    boolean etcdLeftOut,
    List<String> containers,
    List<String> warnings,
    Listing listing) {

  /**
   * Non-ASCII characters escaped, so that a file name that is not UTF-8 (a {@code FileNames}
   * string) survives the JSON byte for byte.
   */
  public static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

  /**
   * What one volume contributed; {@code frozen} names the containers paused for its copy (or found
   * paused by someone else, without the seconds), null when none were.
   */
  public record Volume(String name, Long files, Long bytes, String via, List<String> frozen, Double frozenSeconds,
      Long frozenBytes) {
    public Volume(String name, long files, long bytes, String via) {
      this(name, files, bytes, via, null, null, null);
    }

    void write(JsonGenerator g) throws IOException {
      g.writeStartObject();
      g.writeObjectField("name", name);
      g.writeObjectField("files", files);
      g.writeObjectField("bytes", bytes);
      g.writeObjectField("via", via);
      if (frozen != null) {
        g.writeObjectField("frozen", frozen);
      }
      if (frozenSeconds != null) {
        g.writeObjectField("frozenSeconds", frozenSeconds);
      }
      if (frozenBytes != null) {
        g.writeObjectField("frozenBytes", frozenBytes);
      }
      g.writeEndObject();
    }

    static Volume of(JsonNode n) {
      return new Volume(text(n.get("name")), integer(n.get("files")), integer(n.get("bytes")), text(n.get("via")),
          texts(n.get("frozen")), n.path("frozenSeconds").isNumber() ? n.get("frozenSeconds").doubleValue() : null,
          integer(n.get("frozenBytes")));
    }
  }

  /** The etcd snapshot: where it came from, its entry in the archive, its size and SHA-256. */
  public record Etcd(String endpoint, String version, Long revision, String entry, Long bytes, String sha256) {
    void write(JsonGenerator g) throws IOException {
      g.writeStartObject();
      g.writeObjectField("endpoint", endpoint);
      g.writeObjectField("version", version);
      g.writeObjectField("revision", revision);
      g.writeObjectField("entry", entry);
      g.writeObjectField("bytes", bytes);
      g.writeObjectField("sha256", sha256);
      g.writeEndObject();
    }

    static Etcd of(JsonNode n) {
      return new Etcd(text(n.get("endpoint")), text(n.get("version")), integer(n.get("revision")),
          text(n.get("entry")), integer(n.get("bytes")), text(n.get("sha256")));
    }
  }

  /** The archive writer's part: the warnings it met (files that changed while read) and its counts. */
  public record Listing(List<String> warnings, Long entryCount, Long fileCount, Long fileBytes) {}

  /**
   * One entry of the list: a tar entry's name, kind ({@code dir}, {@code file}, {@code symlink},
   * {@code hardlink}), size, SHA-256 (files), mode as four octal digits, owner, mtime and link
   * target (links).
   */
  public record Entry(String path, String type, Long size, String sha256, String mode, Long uid, Long gid,
      String mtime, String link) {
    /** The entry as the list holds it: one line of compact JSON, fields in this order. */
    public String toJson() throws IOException {
      StringWriter out = new StringWriter();
      try (JsonGenerator g = JSON.createGenerator(out)) {
        g.writeStartObject();
        g.writeObjectField("path", path);
        g.writeObjectField("type", type);
        g.writeObjectField("size", size);
        if (sha256 != null) {
          g.writeObjectField("sha256", sha256);
        }
        g.writeObjectField("mode", mode);
        g.writeObjectField("uid", uid);
        g.writeObjectField("gid", gid);
        g.writeObjectField("mtime", mtime);
        if (link != null) {
          g.writeObjectField("link", link);
        }
        g.writeEndObject();
      }
      return out.toString();
    }

    static Entry of(JsonNode n) {
      return new Entry(text(n.get("path")), text(n.get("type")), integer(n.get("size")), text(n.get("sha256")),
          text(n.get("mode")), integer(n.get("uid")), integer(n.get("gid")), text(n.get("mtime")), text(n.get("link")));
    }
  }

  /** Writes the elements of the entry list (the archive writer streams them from its spool). */
  @FunctionalInterface
  public interface EntryWriter {
    void writeEntries(JsonGenerator g) throws IOException;
  }

  /** Takes each entry of the list as the parser reaches it, so the list is never held whole. */
  @FunctionalInterface
  public interface EntryReader {
    void entry(Entry entry) throws IOException;
  }

  /** This metadata with the archive writer's part added. */
  public ArchiveMetadata withListing(Listing l) {
    return new ArchiveMetadata(format, product, productVersion, backupId, node, createdAt, encrypted, dockerVersion,
        volumes, excludedVolumes, etcd, etcdLeftOut, containers, warnings, l);
  }

  /**
   * Writes the whole metadata object, the entry list last, with the generator's pretty printer
   * (the archive's is Jackson's default one).
   */
  public void write(JsonGenerator g, EntryWriter entries) throws IOException {
    g.writeStartObject();
    g.writeObjectField("format", format);
    g.writeObjectField("product", product);
    g.writeObjectField("productVersion", productVersion);
    g.writeObjectField("backupId", backupId);
    g.writeObjectField("node", node);
    g.writeObjectField("createdAt", createdAt);
    g.writeObjectField("encrypted", encrypted);
    g.writeObjectField("dockerVersion", dockerVersion);
    if (volumes == null) {
      g.writeNullField("volumes");
    } else {
      g.writeArrayFieldStart("volumes");
      for (Volume v : volumes) {
        v.write(g);
      }
      g.writeEndArray();
    }
    g.writeObjectField("excludedVolumes", excludedVolumes);
    if (etcd != null) {
      g.writeFieldName("etcd");
      etcd.write(g);
    } else if (etcdLeftOut) {
      g.writeNullField("etcd");
    }
    g.writeObjectField("containers", containers);
    g.writeObjectField("warnings", warnings);
    if (listing != null) {
      g.writeObjectField("warnings", listing.warnings());
      g.writeObjectField("entryCount", listing.entryCount());
      g.writeObjectField("fileCount", listing.fileCount());
      g.writeObjectField("fileBytes", listing.fileBytes());
    }
    g.writeArrayFieldStart("entries");
    entries.writeEntries(g);
    g.writeEndArray();
    g.writeEndObject();
  }

  /**
   * Reads the fields of a metadata object whose {@code START_OBJECT} the caller has read (each
   * caller has its own error for a file that is not an object), handing each entry of the list to
   * {@code entries} as it comes.
   */
  public static ArchiveMetadata read(JsonParser p, EntryReader entries) throws IOException {
    Fields f = new Fields();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken t = p.nextToken();
      if ("entries".equals(field) && t == JsonToken.START_ARRAY) {
        while (p.nextToken() == JsonToken.START_OBJECT) {
          entries.entry(Entry.of(p.readValueAsTree()));
        }
      } else {
        f.take(field, p.readValueAsTree());
      }
    }
    return f.metadata();
  }

  /** The header fields as they are read; the writer's warnings are the second field of that name. */
  private static final class Fields {
    Integer format;
    String product;
    String productVersion;
    String backupId;
    String node;
    String createdAt;
    Boolean encrypted;
    String dockerVersion;
    List<Volume> volumes;
    List<String> excludedVolumes;
    Etcd etcd;
    boolean etcdLeftOut;
    List<String> containers;
    List<String> warnings;
    boolean warningsSeen;
    List<String> listingWarnings;
    Long entryCount;
    Long fileCount;
    Long fileBytes;

    void take(String field, JsonNode v) {
      switch (field) {
        case "format" -> format = v.isIntegralNumber() && v.canConvertToInt() ? v.intValue() : null;
        case "product" -> product = text(v);
        case "productVersion" -> productVersion = text(v);
        case "backupId" -> backupId = text(v);
        case "node" -> node = text(v);
        case "createdAt" -> createdAt = text(v);
        case "encrypted" -> encrypted = v.isBoolean() ? v.booleanValue() : null;
        case "dockerVersion" -> dockerVersion = text(v);
        case "volumes" -> volumes = volumes(v);
        case "excludedVolumes" -> excludedVolumes = texts(v);
        case "etcd" -> {
          etcd = v.isObject() ? Etcd.of(v) : null;
          etcdLeftOut = v.isNull();
        }
        case "containers" -> containers = texts(v);
        case "warnings" -> {
          if (warningsSeen) {
            listingWarnings = texts(v);
          } else {
            warnings = texts(v);
            warningsSeen = true;
          }
        }
        case "entryCount" -> entryCount = integer(v);
        case "fileCount" -> fileCount = integer(v);
        case "fileBytes" -> fileBytes = integer(v);
        default -> {
          // a field of another version: not needed to verify or restore
        }
      }
    }

    ArchiveMetadata metadata() {
      Listing listing = listingWarnings == null && entryCount == null && fileCount == null && fileBytes == null ? null
          : new Listing(listingWarnings, entryCount, fileCount, fileBytes);
      return new ArchiveMetadata(format, product, productVersion, backupId, node, createdAt, encrypted, dockerVersion,
          volumes, excludedVolumes, etcd, etcdLeftOut, containers, warnings, listing);
    }
  }

  private static List<Volume> volumes(JsonNode v) {
    if (!v.isArray()) {
      return null;
    }
    List<Volume> list = new ArrayList<>();
    for (JsonNode n : v) {
      list.add(Volume.of(n));
    }
    return list;
  }

  /** A value as text: null for null or missing, a container as its JSON. */
  private static String text(JsonNode n) {
    return n == null || n.isNull() || n.isMissingNode() ? null : n.isValueNode() ? n.asText() : n.toString();
  }

  private static Long integer(JsonNode n) {
    // A number past a long reads as null, never as a wrapped value.
    return n != null && n.isIntegralNumber() && n.canConvertToLong() ? n.longValue() : null;
  }

  private static List<String> texts(JsonNode n) {
    if (n == null || !n.isArray()) {
      return null;
    }
    List<String> list = new ArrayList<>();
    for (JsonNode e : n) {
      list.add(text(e));
    }
    return list;
  }
}
