package io.mkebackup.common.archive;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
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
    long count = 0;
    try (JsonParser p = new JsonFactory(JSON).createParser(metadata.toFile())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("metadata is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (!"entries".equals(field) || value != JsonToken.START_ARRAY) {
          p.skipChildren();
          continue;
        }
        while (p.nextToken() == JsonToken.START_OBJECT) {
          if (count++ >= max) {
            p.skipChildren();
            continue;
          }
          JsonNode e = p.readValueAsTree();
          JsonObject k = new JsonObject().put("path", e.path("path").asText()).put("type", e.path("type").asText())
              .put("size", e.path("size").asLong());
          if (e.hasNonNull("sha256")) {
            k.put("sha256", e.get("sha256").asText());
          }
          kept.add(k);
        }
      }
    }
    return new JsonObject().put("entryCount", count).put("truncated", count > kept.size()).put("entries", kept);
  }
}
