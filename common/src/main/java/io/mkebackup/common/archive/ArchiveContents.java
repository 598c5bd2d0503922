package io.mkebackup.common.archive;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A backup's contents as its metadata entry lists them (path, type, size, SHA-256), read with a
 * streaming parser so a metadata file of millions of entries is never held whole: at most
 * {@code max} entries are kept, the rest only counted.
 */
public final class ArchiveContents {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ArchiveContents() {}

  /** {@code {"entryCount", "truncated", "entries": [{"path", "type", "size", "sha256"?}]}}. */
  public static JsonObject read(Path metadata, int max) throws IOException {
    JsonArray kept = new JsonArray();
    long[] count = {0};
    try (JsonParser p = new JsonFactory(JSON).createParser(metadata.toFile())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("metadata is not a JSON object");
      }
      ArchiveMetadata.read(p, e -> {
        if (count[0]++ < max) {
          JsonObject k = new JsonObject().put("path", e.path() == null ? "" : e.path())
              .put("type", e.type() == null ? "" : e.type()).put("size", e.size() == null ? 0L : e.size());
          if (e.sha256() != null) {
            k.put("sha256", e.sha256());
          }
          kept.add(k);
        }
      });
    }
    return new JsonObject().put("entryCount", count[0]).put("truncated", count[0] > kept.size()).put("entries", kept);
  }
}
