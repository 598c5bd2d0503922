package io.mkebackup.deploy.manager;

import io.mkebackup.common.BackupException;
import io.mkebackup.gateway.auth.UserAccount;
import io.mkebackup.worker.backup.BackupConfig;
import io.mkebackup.worker.backup.BackupConfig.SourceMode;
import io.mkebackup.worker.service.HistoryRetention;
import io.mkebackup.worker.source.EtcdEndpoint;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A manager's configuration, built once at start from a JSON file and environment variables
 * (a variable wins over the file) and validated. {@link #KEYS} is the table the
 * README documents. Holds no plain-text password: the admin password is hashed on the way in.
 */
public record ManagerConfig(
    String nodeName,
    String bindAddress,
    String clusterName,
    int clusterPort,
    List<String> clusterMembers,
    int httpsPort,
    Path tlsCert,
    Path tlsKey,
    List<Path> allowedRoots,
    Path defaultBackupDir,
    Path dataDir,
    String dockerHost,
    EtcdEndpoint etcd,
    String volumePrefix,
    SourceMode sourceMode,
    long maxBytesPerSecond,
    Duration tokenTtl,
    String adminUsername,
    String adminPasswordHash,
    List<UserAccount> users,
    boolean workerEnabled,
    Path clusterSecretFile,
    String clientCaCert,
    Duration minEvery,
    HistoryRetention.Policy history,
    Duration maxFreeze,
    String clusterSize,
    Duration stopWait) {

  /** JSON key -> environment variable, in README order. */
  public static final Map<String, String> KEYS = keys(
      "nodeName", "MKE_BACKUP_NODE_NAME",
      "bindAddress", "MKE_BACKUP_BIND_ADDRESS",
      "clusterName", "MKE_BACKUP_CLUSTER_NAME",
      "clusterSecretFile", "MKE_BACKUP_CLUSTER_SECRET_FILE",
      "clusterPort", "MKE_BACKUP_CLUSTER_PORT",
      "clusterMembers", "MKE_BACKUP_CLUSTER_MEMBERS",
      "clusterSize", "MKE_BACKUP_CLUSTER_SIZE",
      "httpsPort", "MKE_BACKUP_HTTPS_PORT",
      "tlsCert", "MKE_BACKUP_TLS_CERT",
      "tlsKey", "MKE_BACKUP_TLS_KEY",
      "allowedBackupRoots", "MKE_BACKUP_ALLOWED_ROOTS",
      "defaultBackupDir", "MKE_BACKUP_DEFAULT_DIR",
      "dataDir", "MKE_BACKUP_DATA_DIR",
      "dockerHost", "MKE_BACKUP_DOCKER_HOST",
      "etcdEndpoint", "MKE_BACKUP_ETCD_ENDPOINT",
      "etcdCacert", "MKE_BACKUP_ETCD_CACERT",
      "etcdCert", "MKE_BACKUP_ETCD_CERT",
      "etcdKey", "MKE_BACKUP_ETCD_KEY",
      "etcdTimeoutSeconds", "MKE_BACKUP_ETCD_TIMEOUT_SECONDS",
      "volumePrefix", "MKE_BACKUP_VOLUME_PREFIX",
      "source", "MKE_BACKUP_SOURCE",
      "maxRateMib", "MKE_BACKUP_MAX_RATE_MIB",
      "maxFreezeSeconds", "MKE_BACKUP_MAX_FREEZE_SECONDS",
      "tokenTtlSeconds", "MKE_BACKUP_TOKEN_TTL_SECONDS",
      "worker", "MKE_BACKUP_WORKER",
      "adminUsername", "MKE_ADMIN_USERNAME",
      "adminPassword", "MKE_ADMIN_PASSWORD",
      "adminPasswordFile", "MKE_ADMIN_PASSWORD_FILE",
      "adminPasswordHash", "MKE_ADMIN_PASSWORD_HASH",
      "clientCaCert", "MKE_BACKUP_CLIENT_CA_CERT",
      "minEverySeconds", "MKE_BACKUP_MIN_EVERY_SECONDS",
      "historyMaxAgeDays", "MKE_BACKUP_HISTORY_MAX_AGE_DAYS",
      "historyMaxRecords", "MKE_BACKUP_HISTORY_MAX_RECORDS",
      "historyDropWithArchives", "MKE_BACKUP_HISTORY_DROP_WITH_ARCHIVES",
      "stopWaitSeconds", "MKE_BACKUP_STOP_WAIT_SECONDS");

  private static Map<String, String> keys(String... pairs) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put(pairs[i], pairs[i + 1]);
    }
    return java.util.Collections.unmodifiableMap(m);
  }

  /**
   * Reads the configuration file (a JSON object; null for none) and the variables of
   * {@link #KEYS} from the environment, then validates them as {@link #from} does.
   */
  public static ManagerConfig read(Path file, Map<String, String> environment,
      java.util.function.BiFunction<Path, String, String> adminPassword) {
    JsonObject fileJson = new JsonObject();
    if (file != null) {
      if (!java.nio.file.Files.isReadable(file)) {
        throw invalid("--config", "--config: cannot read " + file);
      }
      String text;
      try {
        text = java.nio.file.Files.readString(file);
      } catch (java.io.IOException e) {
        throw invalid("--config", "--config: cannot read " + file);
      }
      if (!text.isBlank()) {
        try {
          fileJson = new JsonObject(text);
        } catch (io.vertx.core.json.DecodeException | ClassCastException e) {
          throw invalid("--config", "--config: " + file + " is not a JSON object (" + e.getMessage() + ")");
        }
      }
    }
    JsonObject env = new JsonObject();
    for (String name : KEYS.values()) {
      String value = environment.get(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    return from(fileJson, env, adminPassword);
  }

  /**
   * @param file the configuration file's JSON (may be empty)
   * @param env the environment variables (only {@link #KEYS}' values)
   * @param adminPassword resolves the admin password's hash when neither MKE_ADMIN_PASSWORD nor a
   *     hash is configured (generated and kept in the data directory)
   */
  public static ManagerConfig from(JsonObject file, JsonObject env,
      java.util.function.BiFunction<Path, String, String> adminPassword) {
    Reader r = new Reader(file, env);
    if (file.containsKey("adminPassword")) {
      throw invalid("adminPassword", "adminPassword does not belong in the configuration file (it would sit there in"
          + " plain text); set MKE_ADMIN_PASSWORD in the environment or adminPasswordHash"
          + " (mke-backup hash-password) in the file");
    }
    String node = r.string("nodeName", hostName());
    String bind = r.string("bindAddress", "127.0.0.1");
    int clusterPort = r.port("clusterPort", 5701);
    List<String> members = r.list("clusterMembers", List.of());
    for (String m : members) {
      checkMember(m);
    }
    String clusterSize = r.string("clusterSize", "");
    if (!clusterSize.isEmpty() && !SWARM.equals(clusterSize) && !clusterSize.matches("[1-9][0-9]?")) {
      throw invalid("clusterSize", "clusterSize (MKE_BACKUP_CLUSTER_SIZE) must be the number of managers (1 to 99)"
          + " or swarm (the Swarm's manager count, from the Docker engine)");
    }
    int httpsPort = r.port("httpsPort", 8443);
    Path dataDir = r.path("dataDir", Path.of("/var/lib/mke-backup"));
    Path defaultDir = r.path("defaultBackupDir", null);
    if (defaultDir == null) {
      throw invalid("defaultBackupDir", "defaultBackupDir (MKE_BACKUP_DEFAULT_DIR) is required: the directory,"
          + " on shared storage, where backups go when a request gives no hostPath");
    }
    List<Path> roots = new ArrayList<>();
    for (String s : r.list("allowedBackupRoots", List.of(defaultDir.toString()))) {
      roots.add(absolute("allowedBackupRoots", s));
    }
    String etcdUrl = r.string("etcdEndpoint", BackupConfig.DEFAULT_ETCD);
    EtcdEndpoint etcd = "none".equalsIgnoreCase(etcdUrl) ? null : new EtcdEndpoint(etcdUrl,
        r.path("etcdCacert", null), r.path("etcdCert", null), r.path("etcdKey", null),
        EtcdEndpoint.timeout(r.number("etcdTimeoutSeconds", EtcdEndpoint.DEFAULT_TIMEOUT.toSeconds()),
            "etcdTimeoutSeconds", "etcdTimeoutSeconds (MKE_BACKUP_ETCD_TIMEOUT_SECONDS)"));
    if (etcd != null && etcd.isAuto() && (etcd.caCert() != null || etcd.clientCert() != null || etcd.clientKey() != null)) {
      throw invalid("etcdCert", "etcdCacert, etcdCert and etcdKey go with an etcdEndpoint URL; with etcdEndpoint auto"
          + " (the default) they come from the ucp-kv-certs volume");
    }
    SourceMode mode;
    try {
      mode = SourceMode.valueOf(r.string("source", "auto").toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw invalid("source", "source must be auto, docker or disk");
    }
    long ttl = r.number("tokenTtlSeconds", 3600);
    if (ttl < 60 || ttl > 7 * 86400) {
      throw invalid("tokenTtlSeconds", "tokenTtlSeconds must be between 60 and 604800");
    }
    String adminUser = r.string("adminUsername", "admin");
    String hash = r.string("adminPasswordHash", null);
    String plain = env.getString(KEYS.get("adminPassword"));
    Path passwordFile = r.path("adminPasswordFile", null);
    if ((plain == null || plain.isEmpty()) && passwordFile != null) {
      try {
        plain = java.nio.file.Files.readString(passwordFile).lines().findFirst().orElse("");
      } catch (java.io.IOException e) {
        throw invalid("adminPasswordFile", "adminPasswordFile " + passwordFile + " cannot be read ("
            + e.getClass().getSimpleName() + ")");
      }
    }
    if (plain != null && !plain.isEmpty()) {
      if (plain.length() < 8) {
        throw invalid("adminPassword", "MKE_ADMIN_PASSWORD is too short; use at least 8 characters");
      }
      hash = io.mkebackup.gateway.auth.Passwords.hash(plain.toCharArray());
    } else if (hash == null) {
      hash = adminPassword.apply(dataDir, adminUser);
    }
    long minEvery = r.number("minEverySeconds", 60);
    if (minEvery < 1 || minEvery > 86_400) {
      throw invalid("minEverySeconds", "minEverySeconds must be between 1 and 86400");
    }
    long stopWait = r.number("stopWaitSeconds", 0);
    if (stopWait < 0 || stopWait > 3_600) {
      throw invalid("stopWaitSeconds", "stopWaitSeconds must be between 0 and 3600");
    }
    long maxAgeDays = r.number("historyMaxAgeDays", HistoryRetention.Policy.DEFAULT.maxAge().toDays());
    if (maxAgeDays < 1 || maxAgeDays > 36_500) {
      throw invalid("historyMaxAgeDays", "historyMaxAgeDays must be between 1 and 36500");
    }
    long maxRecords = r.number("historyMaxRecords", HistoryRetention.Policy.DEFAULT.maxRecords());
    if (maxRecords < 1 || maxRecords > 1_000_000) {
      throw invalid("historyMaxRecords", "historyMaxRecords must be between 1 and 1000000");
    }
    HistoryRetention.Policy history = new HistoryRetention.Policy(Duration.ofDays(maxAgeDays), (int) maxRecords,
        r.bool("historyDropWithArchives", false));
    List<UserAccount> users = new ArrayList<>();
    users.add(new UserAccount(adminUser, hash, Set.of(UserAccount.ADMIN)));
    JsonArray extra = file.getJsonArray("users", new JsonArray());
    for (int i = 0; i < extra.size(); i++) {
      JsonObject u = extra.getJsonObject(i);
      String field = "users[" + i + "]";
      if (u.containsKey("password")) {
        throw invalid(field, field + ": give passwordHash (mke-backup hash-password), never a plain password");
      }
      if (u.getString("username") == null || u.getString("passwordHash") == null) {
        throw invalid(field, field + " needs username and passwordHash");
      }
      Set<String> roles = new HashSet<>();
      u.getJsonArray("roles", new JsonArray()).forEach(x -> roles.add(String.valueOf(x)));
      users.add(new UserAccount(u.getString("username"), u.getString("passwordHash"), roles));
    }
    return new ManagerConfig(node, bind, r.string("clusterName", "mke-backup"), clusterPort, members, httpsPort,
        r.path("tlsCert", null), r.path("tlsKey", null), roots, defaultDir, dataDir,
        r.string("dockerHost", BackupConfig.DEFAULT_DOCKER_HOST), etcd, r.string("volumePrefix", ""), mode,
        BackupConfig.rate(r.decimal("maxRateMib", 0), "maxRateMib"), Duration.ofSeconds(ttl),
        adminUser, hash, users, r.bool("worker", true), r.path("clusterSecretFile", null),
        clientCaCert(r.string("clientCaCert", AUTO)), Duration.ofSeconds(minEvery), history,
        BackupConfig.maxFreeze(r.decimal("maxFreezeSeconds", BackupConfig.DEFAULT_MAX_FREEZE.toSeconds()),
            "maxFreezeSeconds"), clusterSize, Duration.ofSeconds(stopWait));
  }

  /**
   * A clusterMembers entry: {@code host:port}, {@code host} (port 5701) or {@code [v6]:port}; the
   * host is a name or an address, the port 1 to 65535. Checked here, where the error can name the
   * key, rather than when the cluster first looks for members.
   */
  static void checkMember(String entry) {
    String e = entry.trim();
    String host = e;
    String port = null;
    if (e.startsWith("[")) {
      int close = e.indexOf(']');
      host = close < 0 ? "" : e.substring(1, close);
      String rest = close < 0 ? "x" : e.substring(close + 1);
      if (!rest.isEmpty()) {
        port = rest.startsWith(":") ? rest.substring(1) : "x";
      }
    } else if (e.indexOf(':') != e.lastIndexOf(':')) {
      host = ""; // an IPv6 address without brackets: its port cannot be told apart
    } else if (e.contains(":")) {
      host = e.substring(0, e.indexOf(':'));
      port = e.substring(e.indexOf(':') + 1);
    }
    boolean portOk = port == null || port.matches("[0-9]{1,5}") && Integer.parseInt(port) >= 1
        && Integer.parseInt(port) <= 65_535;
    if (host.isEmpty() || !host.matches("[A-Za-z0-9._:-]+") || !portOk) {
      throw invalid("clusterMembers", "clusterMembers: \"" + io.mkebackup.common.io.FileNames.printable(entry, 100)
          + "\" is not host:port (a name or an address, [address]:port for IPv6, a port from 1 to 65535)");
    }
  }

  /** clusterSize: as many managers as the Swarm of this node's Docker engine has. */
  public static final String SWARM = "swarm";

  /** clientCaCert: read MKE's ucp-client-root-ca certificate through the Docker API. */
  public static final String AUTO = "auto";

  /** {@code auto}, {@code none} or an absolute path to a PEM file. */
  private static String clientCaCert(String value) {
    if (AUTO.equalsIgnoreCase(value) || "none".equalsIgnoreCase(value)) {
      return value.toLowerCase(Locale.ROOT);
    }
    return absolute("clientCaCert", value).toString();
  }

  public BackupConfig backupConfig() {
    return new BackupConfig(nodeName, dockerHost, volumePrefix, BackupConfig.DEFAULT_EXCLUDED, sourceMode, etcd,
        BackupConfig.DEFAULT_HELPER_IMAGE, dataDir.resolve("spool"), maxBytesPerSecond, maxFreeze);
  }

  @Override
  public String toString() {
    return "ManagerConfig[node=" + nodeName + ", bind=" + bindAddress + ", cluster=" + clusterName + " "
        + clusterMembers + (clusterSecretFile == null ? "" : ", secret file " + clusterSecretFile) + ", https=" + httpsPort + ", roots=" + allowedRoots + ", defaultDir=" + defaultBackupDir
        + ", dataDir=" + dataDir + ", docker=" + dockerHost + ", etcd=" + (etcd == null ? "none" : etcd.url())
        + ", users=" + users.stream().map(UserAccount::username).toList()
        + (workerEnabled ? "" : ", worker disabled") + "]";
  }

  static BackupException invalid(String field, String message) {
    return BackupException.invalid(field, message);
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  private static Path absolute(String key, String s) {
    Path p = Path.of(s);
    if (!p.isAbsolute()) {
      throw invalid(key, key + " must be an absolute path, not '" + s + "'");
    }
    return p.normalize();
  }

  /** Looks a key up in the environment first, then the file. */
  private record Reader(JsonObject file, JsonObject env) {
    Object raw(String key) {
      Object v = env.getValue(KEYS.get(key));
      return v != null && !String.valueOf(v).isEmpty() ? v : file.getValue(key);
    }

    String string(String key, String dflt) {
      Object v = raw(key);
      return v == null ? dflt : String.valueOf(v);
    }

    long number(String key, long dflt) {
      Object v = raw(key);
      if (v == null) {
        return dflt;
      }
      try {
        return v instanceof Number n ? n.longValue() : Long.parseLong(String.valueOf(v).trim());
      } catch (NumberFormatException e) {
        throw invalid(key, key + " (" + KEYS.get(key) + ") must be a number, not '" + v + "'");
      }
    }

    boolean bool(String key, boolean dflt) {
      Object v = raw(key);
      if (v == null) {
        return dflt;
      }
      String t = String.valueOf(v).trim().toLowerCase(Locale.ROOT);
      if (!t.equals("true") && !t.equals("false")) {
        throw invalid(key, key + " (" + KEYS.get(key) + ") must be true or false, not '" + v + "'");
      }
      return Boolean.parseBoolean(t);
    }

    double decimal(String key, double dflt) {
      Object v = raw(key);
      if (v == null) {
        return dflt;
      }
      try {
        return v instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(v).trim());
      } catch (NumberFormatException e) {
        throw invalid(key, key + " (" + KEYS.get(key) + ") must be a number, not '" + v + "'");
      }
    }

    int port(String key, int dflt) {
      long p = number(key, dflt);
      if (p < 0 || p > 65535) {
        throw invalid(key, key + " must be a port number (0-65535), not " + p);
      }
      return (int) p;
    }

    Path path(String key, Path dflt) {
      String s = string(key, null);
      return s == null || s.isEmpty() ? dflt : absolute(key, s);
    }

    List<String> list(String key, List<String> dflt) {
      Object v = raw(key);
      if (v == null) {
        return dflt;
      }
      if (v instanceof JsonArray a) {
        return a.stream().map(String::valueOf).map(String::trim).filter(s -> !s.isEmpty()).toList();
      }
      return Arrays.stream(String.valueOf(v).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
  }
}
