package io.mkebackup.gateway.backup;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.bus.JobRules;
import io.mkebackup.common.io.FileNames;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Turns the body of {@code POST /api/ucp/backup} into a job, or refuses it with an
 * {@link ErrorCode#INVALID_FIELD} (or TARGET_*) error whose field and message name the offending
 * field. Touches the disk (hostPath checks): call it off the event loop. Changes nothing.
 */
public final class BackupRequestValidator {
  /** The request fields and their JSON types, as the seed documents them (plus its example's). */
  static final Map<String, Class<?>> FIELDS = Map.of(
      "passphrase", String.class,
      "noPassphrase", Boolean.class,
      "encrypted", Boolean.class,
      "fileName", String.class,
      "logFileName", String.class,
      "includeLogs", Boolean.class,
      "hostPath", String.class);
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private final JobRules rules;

  public BackupRequestValidator(List<Path> allowedRoots, Path defaultDir) {
    this.rules = new JobRules(allowedRoots, defaultDir);
  }

  public BackupJob validate(Buffer body, String origin) {
    return validate(body, origin, ignored -> {});
  }

  /** @param ignoredKeys given the body's unknown keys, which are ignored as MKE ignores them */
  public BackupJob validate(Buffer body, String origin, Consumer<List<String>> ignoredKeys) {
    JsonObject json = goKeys(parseObject(body, "{\"passphrase\": \"...\", \"fileName\": \"backup1.tar\"}"),
        FIELDS, ignoredKeys);
    checkTypes(json, FIELDS);
    String passphrase = json.getString("passphrase");
    boolean noPassphrase = json.getBoolean("noPassphrase", false);
    Boolean encrypted = json.getBoolean("encrypted");
    if (passphrase != null && noPassphrase) {
      throw BackupException.invalid("passphrase", "passphrase and noPassphrase: true exclude each other; give one");
    }
    if (passphrase == null && !noPassphrase) {
      throw BackupException.invalid("passphrase", "passphrase is required (at least " + Passphrase.MIN_LENGTH
          + " characters); to write an unencrypted backup, set noPassphrase: true instead");
    }
    if (encrypted != null && encrypted != (passphrase != null)) {
      throw BackupException.invalid("encrypted", encrypted
          ? "encrypted is true but noPassphrase is set; an encrypted backup needs a passphrase"
          : "encrypted is false but a passphrase is given; drop the passphrase and set noPassphrase: true");
    }
    String fileName = json.getString("fileName");
    String logFileName = json.getString("logFileName");
    Boolean includeLogs = json.getBoolean("includeLogs");
    String id = UUID.randomUUID().toString();
    if (fileName == null) {
      fileName = generatedName(id, Instant.now());
    } else {
      checkPlainName("fileName", fileName);
    }
    // logFileName implies a log, but an explicit includeLogs: false wins and no log is written, as
    // UCP 3.x scripts that send both expect.
    boolean logs = includeLogs != null ? includeLogs : logFileName != null;
    if (logFileName != null) {
      checkPlainName("logFileName", logFileName);
      if (logs && logFileName.equals(fileName)) {
        throw BackupException.invalid("logFileName", "logFileName must differ from fileName ('" + fileName + "')");
      }
    } else if (logs) {
      logFileName = logNameFor(fileName);
    }
    Path dir = hostPath(json.getString("hostPath"));
    Passphrase p = passphrase == null ? null : Passphrase.of(passphrase, "passphrase");
    return new BackupJob(id, p, fileName, logs ? logFileName : "", dir, origin);
  }

  /**
   * The body's keys matched to the fields as MKE (Go's encoding/json) matches them: without regard
   * to case ({@code filename}, {@code HOSTPATH}); unknown keys are left out and handed to
   * {@code ignored}. One field given twice in different cases is a 400 naming it: which of the two
   * Go would keep depends on their order, so the request cannot be read one way.
   */
  static JsonObject goKeys(JsonObject body, Map<String, Class<?>> fields, Consumer<List<String>> ignored) {
    JsonObject out = new JsonObject();
    Map<String, String> given = new HashMap<>();
    List<String> unknown = new ArrayList<>();
    for (Map.Entry<String, Object> e : body) {
      String key = e.getKey();
      String field = fields.containsKey(key) ? key
          : fields.keySet().stream().filter(key::equalsIgnoreCase).findFirst().orElse(null);
      if (field == null) {
        unknown.add(key);
        continue;
      }
      String before = given.putIfAbsent(field, key);
      if (before != null) {
        throw BackupException.invalid(field, field + " is given twice, as '" + FileNames.printable(before, 80) + "' and '"
            + FileNames.printable(key, 80) + "'; keys match without regard to case, so give it once");
      }
      out.put(field, e.getValue());
    }
    if (!unknown.isEmpty()) {
      ignored.accept(List.copyOf(unknown));
    }
    return out;
  }

  /** The body as a JSON object, or a 400 naming "body". */
  static JsonObject parseObject(Buffer body, String example) {
    try {
      if (body == null || body.length() == 0) {
        throw BackupException.invalid("body", "body: the request has no body; send a JSON object such as " + example);
      }
      Object parsed = io.vertx.core.json.Json.decodeValue(body);
      if (!(parsed instanceof JsonObject o)) {
        throw BackupException.invalid("body", "body: expected a JSON object, got " + typeName(parsed));
      }
      return o;
    } catch (DecodeException e) {
      throw BackupException.invalid("body", "body: malformed JSON; send a JSON object such as " + example);
    }
  }

  /** Each present field must have its JSON type; the first that does not is a 400 naming it. */
  static void checkTypes(JsonObject json, Map<String, Class<?>> fields) {
    for (Map.Entry<String, Class<?>> f : fields.entrySet()) {
      Object v = json.getValue(f.getKey());
      if (json.containsKey(f.getKey()) && (v == null || !f.getValue().isInstance(v))) {
        String want = f.getValue() == Boolean.class ? "a boolean (true or false)"
            : f.getValue() == JsonObject.class ? "an object" : "a string";
        throw BackupException.invalid(f.getKey(), f.getKey() + " must be " + want + ", not " + typeName(v));
      }
    }
  }

  /** A sortable name: {@code mke-backup-20261125T034512Z-0d0525dd.tar}. */
  static String generatedName(String id, Instant at) {
    return "mke-backup-" + STAMP.format(at) + "-" + id.substring(0, 8) + ".tar";
  }

  static String logNameFor(String fileName) {
    String base = fileName.endsWith(".tar") ? fileName.substring(0, fileName.length() - 4) : fileName;
    return base + ".log";
  }

  static void checkPlainName(String field, String name) {
    JobRules.checkPlainName(field, name);
  }

  Path hostPath(String given) {
    return rules.hostPath(given);
  }

  private static String typeName(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof String) {
      return "a string";
    }
    if (v instanceof Number) {
      return "a number";
    }
    if (v instanceof Boolean) {
      return "a boolean";
    }
    if (v instanceof io.vertx.core.json.JsonArray) {
      return "an array";
    }
    return "an object";
  }
}
