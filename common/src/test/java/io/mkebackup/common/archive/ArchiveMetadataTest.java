package io.mkebackup.common.archive;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.mkebackup.common.archive.ArchiveMetadata.Entry;
import io.mkebackup.common.archive.ArchiveMetadata.Etcd;
import io.mkebackup.common.archive.ArchiveMetadata.Listing;
import io.mkebackup.common.archive.ArchiveMetadata.Volume;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The metadata entry's format does not move: metadata entries written by 3.7.0 before the typed
 * record (kept from real archives of a test cluster, through the disk and the Docker source) read
 * into the record and write back byte for byte; and what the record writes for the fields those
 * archives lack (frozen volumes, hard links, non-ASCII names) is what the map of the old writer gave.
 */
class ArchiveMetadataTest {
  record Read(ArchiveMetadata metadata, List<Entry> entries) {}

  static Read read(byte[] json) throws IOException {
    List<Entry> entries = new ArrayList<>();
    try (JsonParser p = ArchiveMetadata.JSON.createParser(json)) {
      assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
      return new Read(ArchiveMetadata.read(p, entries::add), entries);
    }
  }

  /** As the archive writer writes it: Jackson's default pretty printer, entries one compact line each. */
  static byte[] write(ArchiveMetadata m, List<Entry> entries) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = ArchiveMetadata.JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.useDefaultPrettyPrinter();
      m.write(g, gen -> {
        for (Entry e : entries) {
          gen.writeRawValue(e.toJson());
        }
      });
    }
    return out.toByteArray();
  }

  @ParameterizedTest
  @ValueSource(strings = {"metadata-3.7.0-disk.json", "metadata-3.7.0-docker.json"})
  void metadataOfARealArchiveReadsIntoTheRecordAndWritesBackByteForByte(String golden) throws IOException {
    byte[] json;
    try (InputStream in = getClass().getResourceAsStream(golden)) {
      json = in.readAllBytes();
    }
    Read r = read(json);
    ArchiveMetadata m = r.metadata();
    assertThat(m.format()).isEqualTo(1);
    assertThat(m.productVersion()).isEqualTo("3.7.0-SNAPSHOT");
    assertThat(m.node()).isEqualTo("it-node");
    assertThat(m.encrypted()).isFalse();
    assertThat(m.volumes()).hasSize(10).extracting(Volume::name).contains("ucp-controller-server-certs");
    assertThat(m.etcd().entry()).matches("\\./ucp-backup/\\d{13}/etcd\\.backup\\.db");
    assertThat(m.etcd().revision()).isEqualTo(21L);
    assertThat(m.etcdLeftOut()).isFalse();
    assertThat(m.containers()).contains("ucp-controller");
    assertThat(m.listing()).isEqualTo(new Listing(List.of(), 57L, 40L, m.listing().fileBytes()));
    assertThat(r.entries()).hasSize(57).anySatisfy(e -> assertThat(e.link()).isNotNull());

    assertThat(new String(write(m, r.entries()), StandardCharsets.UTF_8))
        .isEqualTo(new String(json, StandardCharsets.UTF_8));
    assertThat(write(m, r.entries())).isEqualTo(json);
  }

  /** The old writer: a map per entry and for the header, each field written with writeObject. */
  static byte[] oldWriter(Map<String, Object> header, List<Map<String, Object>> entries, List<String> warnings)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = ArchiveMetadata.JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.useDefaultPrettyPrinter();
      g.writeStartObject();
      for (Map.Entry<String, Object> field : header.entrySet()) {
        g.writeFieldName(field.getKey());
        g.writeObject(field.getValue());
      }
      g.writeObjectField("warnings", warnings);
      g.writeNumberField("entryCount", entries.size());
      g.writeNumberField("fileCount", 1);
      g.writeNumberField("fileBytes", 3);
      g.writeArrayFieldStart("entries");
      for (Map<String, Object> e : entries) {
        g.writeRawValue(ArchiveMetadata.JSON.writeValueAsString(e));
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void frozenVolumesHardLinksNonAsciiNamesAndNoEtcdWriteAsTheOldMapsDid() throws IOException {
    String latin1 = "./ucp-v/caf" + (char) 0xe9;
    Map<String, Object> header = map("format", 1, "product", "mke-backup", "productVersion", "3.7.0",
        "backupId", "b1", "node", null, "createdAt", "2026-12-07T03:00:34.478786064Z", "encrypted", true,
        "dockerVersion", "20.10",
        "volumes", List.of(map("name", "ucp-v", "files", 2L, "bytes", 3L, "via", "disk", "frozen", List.of("ucp-a"),
            "frozenSeconds", 0.125, "frozenBytes", 3L), map("name", "ucp-w", "files", 0L, "bytes", 0L, "via",
            "docker", "frozen", List.of("theirs"))),
        "excludedVolumes", List.of("ucp-backup"), "etcd", null, "containers", List.of(), "warnings",
        List.of("no etcd endpoint", "grew"));
    List<Map<String, Object>> entries = List.of(
        map("path", "./ucp-v/", "type", "dir", "size", 0L, "mode", "0755", "uid", 0L, "gid", 0L, "mtime", "t"),
        map("path", latin1, "type", "file", "size", 3L, "sha256", "ab", "mode", "0600", "uid", 1L, "gid", 2L,
            "mtime", "t"),
        map("path", "./ucp-v/h", "type", "hardlink", "size", 0L, "mode", "0600", "uid", 1L, "gid", 2L, "mtime", "t",
            "link", latin1),
        map("path", "./ucp-v/s", "type", "symlink", "size", 0L, "mode", "0777", "uid", 0L, "gid", 0L, "mtime", "t",
            "link", "h"));
    byte[] old = oldWriter(header, entries, List.of("grew"));

    ArchiveMetadata m = new ArchiveMetadata(1, "mke-backup", "3.7.0", "b1", null, "2026-12-07T03:00:34.478786064Z",
        true, "20.10", List.of(new Volume("ucp-v", 2L, 3L, "disk", List.of("ucp-a"), 0.125, 3L),
            new Volume("ucp-w", 0L, 0L, "docker", List.of("theirs"), null, null)),
        List.of("ucp-backup"), null, true, List.of(), List.of("no etcd endpoint", "grew"), null)
        .withListing(new Listing(List.of("grew"), 4L, 1L, 3L));
    List<Entry> typed = List.of(new Entry("./ucp-v/", "dir", 0L, null, "0755", 0L, 0L, "t", null),
        new Entry(latin1, "file", 3L, "ab", "0600", 1L, 2L, "t", null),
        new Entry("./ucp-v/h", "hardlink", 0L, null, "0600", 1L, 2L, "t", latin1),
        new Entry("./ucp-v/s", "symlink", 0L, null, "0777", 0L, 0L, "t", "h"));

    assertThat(new String(write(m, typed), StandardCharsets.UTF_8)).isEqualTo(new String(old, StandardCharsets.UTF_8));
    Read back = read(old);
    assertThat(back.metadata()).isEqualTo(m);
    assertThat(back.entries()).isEqualTo(typed);
  }

  @Test
  void aHandMadeMetadataReadsWithWhatItHasAndTellsAMissingEtcdFieldFromANullOne() throws IOException {
    ArchiveMetadata without = read("{\"node\": 7, \"volumes\": \"x\", \"entries\": [{\"path\": \"./a\"}]}"
        .getBytes(StandardCharsets.UTF_8)).metadata();
    assertThat(without.node()).isEqualTo("7");
    assertThat(without.volumes()).isNull();
    assertThat(without.etcd()).isNull();
    assertThat(without.etcdLeftOut()).isFalse();
    assertThat(without.listing()).isNull();

    ArchiveMetadata leftOut = read("{\"etcd\": null}".getBytes(StandardCharsets.UTF_8)).metadata();
    assertThat(leftOut.etcdLeftOut()).isTrue();
    ArchiveMetadata odd = read("{\"etcd\": {\"entry\": 5, \"revision\": \"x\"}}".getBytes(StandardCharsets.UTF_8))
        .metadata();
    assertThat(odd.etcd()).isEqualTo(new Etcd(null, null, null, "5", null, null));
    assertThat(odd.etcdLeftOut()).isFalse();
  }
}
