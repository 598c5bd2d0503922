package io.mkebackup.common.archive;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveContentsTest {
  @TempDir
  Path dir;

  @Test
  void keepsPathTypeSizeAndShaOfTheFirstEntriesAndCountsTheRest() throws Exception {
    JsonArray entries = new JsonArray()
        .add(new JsonObject().put("path", "./v/").put("type", "dir").put("size", 0).put("mode", "0755"))
        .add(new JsonObject().put("path", "./v/a").put("type", "file").put("size", 3).put("sha256", "ab".repeat(32))
            .put("uid", 0).put("extra", new JsonObject().put("nested", 1)))
        .add(new JsonObject().put("path", "./v/b").put("type", "file").put("size", 4).put("sha256", "cd".repeat(32)));
    Path metadata = dir.resolve("m.json");
    Files.writeString(metadata, new JsonObject().put("format", 1).put("volumes", new JsonArray().add(
        new JsonObject().put("name", "v"))).put("entries", entries).put("after", "x").encode());

    JsonObject two = ArchiveContents.read(metadata, 2);
    assertThat(two.getLong("entryCount")).isEqualTo(3);
    assertThat(two.getBoolean("truncated")).isTrue();
    assertThat(two.getJsonArray("entries")).containsExactly(
        new JsonObject().put("path", "./v/").put("type", "dir").put("size", 0L),
        new JsonObject().put("path", "./v/a").put("type", "file").put("size", 3L).put("sha256", "ab".repeat(32)));

    JsonObject all = ArchiveContents.read(metadata, 10);
    assertThat(all.getBoolean("truncated")).isFalse();
    assertThat(all.getJsonArray("entries")).hasSize(3);
  }
}
