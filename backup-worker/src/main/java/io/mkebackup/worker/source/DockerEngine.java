package io.mkebackup.worker.source;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectVolumeResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** The local Docker engine as the backup sees it: volumes, containers and the helper container. */
public final class DockerEngine implements ContainerEngine {
  /** Label on every helper container, so stale ones can be found. */
  public static final String HELPER_LABEL = "io.mkebackup.helper";
  /** Where the helper container mounts each volume: {@code /vol/<full volume name>}. */
  public static final String MOUNT_ROOT = "/vol/";
  /** Where it mounts a volume asked apart from the others, outside {@link #MOUNT_ROOT}. */
  public static final String APART_ROOT = "/vol-apart/";

  // A running container's inspect document holds empty objects (ExposedPorts' "2379/tcp": {}), which
  // docker-java reads as plain Objects: they must be written back as {}, not refused.
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

  private final DockerClient client;
  private final DockerHttpClient http;
  private final String host;
  private Optional<SelfContainer> self;

  private DockerEngine(DockerClient client, DockerHttpClient http, String host) {
    this.client = client;
    this.http = http;
    this.host = host;
  }

  /** Connects and pings; an unreachable engine is a DOCKER_UNAVAILABLE error that says what to check. */
  public static DockerEngine connect(String host) {
    Raw raw = open(host);
    DockerEngine engine = new DockerEngine(raw.client(), raw.http(), host);
    try {
      raw.client().pingCmd().exec();
    } catch (RuntimeException e) {
      engine.close();
      throw unavailable(host, e);
    }
    return engine;
  }

  /**
   * A docker-java client of its own on the engine at {@code host}, which the caller closes: for
   * the tools that make what MKE would (the demo state's volumes and containers, its etcd image).
   * A backup and a restore go through this class's methods only.
   */
  public static DockerClient rawClient(String host) {
    return open(host).client();
  }

  private record Raw(DockerClient client, DockerHttpClient http) {}

  private static Raw open(String host) {
    try {
      var config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
      DockerHttpClient http = new ApacheDockerHttpClient.Builder()
          .dockerHost(config.getDockerHost())
          .sslConfig(config.getSSLConfig())
          .maxConnections(8)
          .connectionTimeout(Duration.ofSeconds(5))
          .build();
      return new Raw(DockerClientImpl.getInstance(config, http), http);
    } catch (RuntimeException e) {
      throw unavailable(host, e);
    }
  }

  /** The engine's own name for its node ({@code docker info}'s Name). */
  public String engineName() {
    return client.infoCmd().exec().getName();
  }

  /** The names of every volume whose name starts with {@code prefix}, whatever follows, sorted. */
  public List<String> volumeNames(String prefix) {
    List<InspectVolumeResponse> all = client.listVolumesCmd().exec().getVolumes();
    return all == null ? List.of() : all.stream().map(InspectVolumeResponse::getName)
        .filter(n -> n.startsWith(prefix)).sorted().toList();
  }

  static BackupException unavailable(String host, Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String why = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    return new BackupException(ErrorCode.DOCKER_UNAVAILABLE, "cannot reach the Docker engine at " + host + " ("
        + why + "); check that dockerd runs and that this user may use its socket", e);
  }

  /** The docker-java client, for this package's discovery of containers (SelfContainer, EtcdDiscovery). */
  DockerClient client() {
    return client;
  }

  public String host() {
    return host;
  }

  public String version() {
    return client.versionCmd().exec().getVersion();
  }

  /** The container of this engine that this process runs in, if it runs in one (asked once). */
  @Override
  public synchronized Optional<SelfContainer> self() {
    if (self == null) {
      self = SelfContainer.detect(this);
    }
    return self;
  }

  /** A named volume of the engine, with its name as the archive knows it (without the prefix). */
  public record VolumeInfo(String fullName, String name, Path mountpoint) {}

  /** Every {@code <prefix>ucp-*} volume, sorted by name. */
  public List<VolumeInfo> ucpVolumes(String prefix) {
    List<InspectVolumeResponse> all = client.listVolumesCmd().exec().getVolumes();
    List<VolumeInfo> out = new ArrayList<>();
    if (all != null) {
      for (InspectVolumeResponse v : all) {
        String n = v.getName();
        if (n.startsWith(prefix + "ucp-")) {
          out.add(new VolumeInfo(n, n.substring(prefix.length()),
              v.getMountpoint() == null ? null : Path.of(v.getMountpoint())));
        }
      }
    }
    out.sort(Comparator.comparing(VolumeInfo::name));
    return out;
  }

  /** The mountpoint of a named volume, if the engine has it. */
  public java.util.Optional<Path> volumeMountpoint(String fullName) {
    try {
      InspectVolumeResponse v = client.inspectVolumeCmd(fullName).exec();
      return java.util.Optional.of(Path.of(v.getMountpoint()));
    } catch (com.github.dockerjava.api.exception.NotFoundException e) {
      return java.util.Optional.empty();
    }
  }

  /** Creates a local named volume and returns its mountpoint. */
  public Path createVolume(String fullName, Map<String, String> labels) {
    return Path.of(client.createVolumeCmd().withName(fullName).withDriver("local").withLabels(labels).exec()
        .getMountpoint());
  }

  public void removeVolume(String fullName) {
    try {
      client.removeVolumeCmd(fullName).exec();
    } catch (com.github.dockerjava.api.exception.NotFoundException gone) {
      // already gone
    }
  }

  /** A ucp-* container's name (without prefix and slash) and its inspect document. */
  public record ContainerConfig(String name, byte[] inspectJson) {}

  /**
   * Inspect documents of every {@code <prefix>ucp-*} container, sorted by name, but the one this
   * process runs in: the seed runs the backup itself as a container named {@code ucp}, and people
   * name it {@code ucp-backup}; it is not an MKE component.
   */
  public List<ContainerConfig> ucpContainers(String prefix) {
    List<ContainerConfig> out = new ArrayList<>();
    String selfId = self().map(SelfContainer::id).orElse("");
    for (Container c : client.listContainersCmd().withShowAll(true).exec()) {
      if (c.getId().equals(selfId)) {
        continue;
      }
      for (String raw : c.getNames()) {
        String n = raw.startsWith("/") ? raw.substring(1) : raw;
        if (n.startsWith(prefix + "ucp-")) {
          try {
            byte[] json = JSON.writeValueAsBytes(client.inspectContainerCmd(c.getId()).exec());
            out.add(new ContainerConfig(n.substring(prefix.length()), json));
          } catch (NotFoundException gone) {
            // removed between list and inspect: nothing to record
          } catch (IOException e) {
            throw new BackupException(ErrorCode.INTERNAL, "cannot serialize the configuration of " + n, e);
          }
        }
      }
    }
    out.sort(Comparator.comparing(ContainerConfig::name));
    return out;
  }

  /** The engine's address in its Swarm (docker info's NodeAddr), or null when it is in none. */
  public String swarmNodeAddress() {
    var swarm = client.infoCmd().exec().getSwarm();
    String a = swarm == null ? null : swarm.getNodeAddr();
    return a == null || a.isBlank() ? null : a;
  }

  /** How many managers the engine's Swarm has when this engine is one of them, else 0. */
  public int swarmManagers() {
    var swarm = client.infoCmd().exec().getSwarm();
    Integer managers = swarm == null ? null : swarm.getManagers();
    return managers == null || !Boolean.TRUE.equals(swarm.getControlAvailable()) ? 0 : managers;
  }

  /** Makes sure the helper image exists, importing it from an empty tar (no registry needed). */
  public void ensureHelperImage(String image) {
    try {
      client.inspectImageCmd(image).exec();
      return;
    } catch (NotFoundException missing) {
      // import below
    }
    // docker-java's import (createImageCmd) posts the stream JSON-encoded (docker-java #2377), so the
    // image is loaded instead, as `docker save` would write it: one empty layer, a config, a manifest.
    try {
      client.loadImageCmd(new ByteArrayInputStream(emptyImage(image))).exec();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] emptyImage(String image) throws IOException {
    byte[] layer = new byte[10240]; // an empty tar: its end-of-archive blocks, padded to one block
    String layerSha = sha256(layer);
    String config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + layerSha + "\"]}}";
    String configSha = sha256(config.getBytes(StandardCharsets.UTF_8));
    String manifest = "[{\"Config\":\"" + configSha + ".json\",\"RepoTags\":[\"" + image + "\"],"
        + "\"Layers\":[\"" + layerSha + "/layer.tar\"]}]";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
      add(tar, layerSha + "/layer.tar", layer);
      add(tar, configSha + ".json", config.getBytes(StandardCharsets.UTF_8));
      add(tar, "manifest.json", manifest.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  private static void add(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(content.length);
    tar.putArchiveEntry(e);
    tar.write(content);
    tar.closeArchiveEntry();
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Creates (never starts) a container that mounts the given volumes read-only under
   * {@link #MOUNT_ROOT}, or {@link #APART_ROOT} for those in {@code apart}, so the archive API can
   * stream them.
   *
   * @return the container id
   */
  @Override
  public String createHelper(String image, String name, List<String> volumeNames, Set<String> apart,
      Map<String, String> labels) {
    ensureHelperImage(image);
    List<Bind> binds = new ArrayList<>();
    for (String v : volumeNames) {
      binds.add(new Bind(v, new Volume((apart.contains(v) ? APART_ROOT : MOUNT_ROOT) + v), AccessMode.ro));
    }
    var cmd = client.createContainerCmd(image)
        .withName(name)
        .withCmd("/mke-backup-helper-never-started")
        .withLabels(labels)
        .withHostConfig(HostConfig.newHostConfig().withBinds(binds));
    return cmd.exec().getId();
  }

  /**
   * The tar stream of a path in a container, entries named {@code <basename>/...}.
   *
   * <p>Through docker-java's transport rather than its command, which lets httpclient5 offer
   * gzip: dockerd honours it by compressing every volume on one core, about 30 MB/s here, where
   * {@code docker cp} asks for no encoding and gets several hundred MB/s.
   */
  public InputStream archive(String containerId, String path) {
    DockerHttpClient.Response response = http.execute(new DockerHttpClient.Request.Builder()
        .method(DockerHttpClient.Request.Method.GET)
        .path("/containers/" + encode(containerId) + "/archive?path=" + encode(path))
        .putHeader("Accept-Encoding", "identity")
        .build());
    int status = response.getStatusCode();
    if (status == 200) {
      // Closing the body alone would read the rest of the response first (to keep the
      // connection): a backup that fails early would wait for every later volume. Closing the
      // response aborts it.
      return new java.io.FilterInputStream(response.getBody()) {
        @Override
        public void close() {
          response.close();
        }
      };
    }
    String message;
    try (response) {
      message = new String(response.getBody().readNBytes(4096), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      message = e.getMessage();
    }
    if (status == 404) {
      throw new NotFoundException(message);
    }
    throw new com.github.dockerjava.api.exception.DockerException(message, status);
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /**
   * Small regular files at the top of a named volume (certificates), by name: read from the
   * volume's mountpoint when this process can (never through a link), else through the archive API
   * of a never-started helper container that mounts the volume read-only (in a container, or
   * without root). A missing file is left out; a link, a directory or a file over {@code maxBytes}
   * is an error: the volume is written by MKE's containers, so nothing in it is trusted further.
   */
  public Map<String, byte[]> readVolumeFiles(String helperImage, String volume, List<String> names, int maxBytes) {
    return readVolumeFiles(helperImage, volume, names, maxBytes, null);
  }

  /** Where a container mounts a volume, to read the volume through that container's archive API. */
  public record MountedAt(String containerId, String path) {}

  /**
   * As {@link #readVolumeFiles(String, String, List, int)}, through a container that already
   * mounts the volume instead of a helper when the mountpoint cannot be read.
   *
   * @param mountedAt null: create a helper
   */
  public Map<String, byte[]> readVolumeFiles(String helperImage, String volume, List<String> names, int maxBytes,
      MountedAt mountedAt) {
    Map<String, byte[]> out = new java.util.LinkedHashMap<>();
    Optional<Path> mount = volumeMountpoint(volume);
    if (mount.isEmpty()) {
      throw new BackupException(ErrorCode.NO_MKE_STATE, "there is no volume " + volume + " on the Docker engine at "
          + host);
    }
    if (java.nio.file.Files.isReadable(mount.get()) && java.nio.file.Files.isExecutable(mount.get())) {
      for (String n : names) {
        Path p = mount.get().resolve(n);
        try {
          var attrs = java.nio.file.Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS);
          requireSmallFile(volume, n, attrs.isRegularFile(), attrs.size(), maxBytes);
          // Opened only if it is still that regular file: a FIFO swapped in would hang the backup.
          try (InputStream in = java.nio.channels.Channels.newInputStream(RegularFiles.open(p, attrs.fileKey()))) {
            out.put(n, readCapped(in, volume, n, maxBytes));
          }
        } catch (java.nio.file.NoSuchFileException missing) {
          // left out
        } catch (IOException e) {
          throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "cannot read " + n + " in volume " + volume + ": "
              + e.getMessage(), e);
        }
      }
      return out;
    }
    String helper = mountedAt != null ? null : createHelper(helperImage, "mke-backup-helper-read-"
        + java.util.UUID.randomUUID(), List.of(volume), Map.of(HELPER_LABEL, "read"));
    String container = mountedAt != null ? mountedAt.containerId() : helper;
    String dir = mountedAt != null ? mountedAt.path() : MOUNT_ROOT + volume;
    try {
      for (String n : names) {
        try (InputStream tar = archive(container, dir + "/" + n);
            var entries = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(tar)) {
          TarArchiveEntry e = entries.getNextEntry();
          requireSmallFile(volume, n, e != null && e.isFile(), e == null ? 0 : e.getSize(), maxBytes);
          out.put(n, readCapped(entries, volume, n, maxBytes));
        } catch (NotFoundException missing) {
          // left out
        } catch (IOException e) {
          throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "cannot read " + n + " in volume " + volume
              + " through the Docker engine: " + e.getMessage(), e);
        }
      }
    } finally {
      if (helper != null) {
        removeContainer(helper);
      }
    }
    return out;
  }

  private static void requireSmallFile(String volume, String name, boolean regular, long size, int maxBytes) {
    if (!regular || size > maxBytes) {
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, name + " in volume " + volume + " is not a regular file"
          + " of at most " + maxBytes + " bytes; refusing to use it");
    }
  }

  private static byte[] readCapped(InputStream in, String volume, String name, int maxBytes) throws IOException {
    byte[] b = in.readNBytes(maxBytes + 1);
    if (b.length > maxBytes) {
      requireSmallFile(volume, name, true, b.length, maxBytes);
    }
    return b;
  }

  @Override
  public List<Mounter> mounters(String volumeFullName) {
    List<Mounter> out = new ArrayList<>();
    String selfId = self().map(SelfContainer::id).orElse("");
    for (Container c : client.listContainersCmd().withShowAll(true).withVolumeFilter(List.of(volumeFullName)).exec()) {
      if (c.getId().equals(selfId)) {
        continue;
      }
      try {
        var inspect = client.inspectContainerCmd(c.getId()).exec();
        var state = inspect.getState();
        String name = inspect.getName() == null ? c.getId() : inspect.getName().replaceFirst("^/", "");
        boolean rw = false;
        boolean mounts = false;
        for (var m : inspect.getMounts() == null ? List.<com.github.dockerjava.api.command.InspectContainerResponse.Mount>of()
            : inspect.getMounts()) {
          if (volumeFullName.equals(m.getName())) {
            mounts = true;
            rw |= Boolean.TRUE.equals(m.getRW());
          }
        }
        if (mounts) {
          out.add(new Mounter(c.getId(), name, rw, Boolean.TRUE.equals(state.getRunning()),
              Boolean.TRUE.equals(state.getPaused())));
        }
      } catch (NotFoundException gone) {
        // removed between list and inspect: it mounts nothing now
      }
    }
    out.sort(Comparator.comparing(Mounter::name));
    return out;
  }

  @Override
  public void pause(String containerId) {
    client.pauseContainerCmd(containerId).exec();
  }

  @Override
  public boolean unpause(String containerId) {
    try {
      var state = client.inspectContainerCmd(containerId).exec().getState();
      if (!Boolean.TRUE.equals(state.getPaused())) {
        return false;
      }
      client.unpauseContainerCmd(containerId).exec();
      return true;
    } catch (NotFoundException gone) {
      return false;
    }
  }

  /** Where the engine keeps its data ({@code docker info}'s DockerRootDir); its volumes are under {@code volumes/}. */
  public Path dockerRootDir() {
    return Path.of(client.infoCmd().exec().getDockerRootDir());
  }

  /** The image (its id) a container was created from. */
  public String imageOf(String containerId) {
    return client.inspectContainerCmd(containerId).exec().getImageId();
  }

  /**
   * Creates a container that runs {@code command} from {@code image} with its standard input open
   * for one attach only (closed when that attach ends), removed by the engine when it exits, no
   * network, logging nothing, and the given host paths bind-mounted (host path -> path in it).
   *
   * @return the container id
   */
  public String createAttachedContainer(String image, String name, List<String> command, Map<String, String> binds,
      Map<String, String> labels) {
    List<Bind> bindList = new ArrayList<>();
    binds.forEach((host, inside) -> bindList.add(new Bind(host, new Volume(inside))));
    return client.createContainerCmd(image)
        .withName(name)
        .withCmd(command)
        .withLabels(labels)
        .withStdinOpen(true)
        .withStdInOnce(true)
        .withAttachStdin(true)
        .withAttachStdout(true)
        .withAttachStderr(true)
        .withTty(false)
        .withHostConfig(HostConfig.newHostConfig().withBinds(bindList).withAutoRemove(true).withNetworkMode("none")
            .withSecurityOpts(List.of("label=disable"))
            .withLogConfig(new com.github.dockerjava.api.model.LogConfig(
                com.github.dockerjava.api.model.LogConfig.LoggingType.NONE)))
        .exec().getId();
  }

  /**
   * Attaches to a container's stdin, stdout and stderr over the engine's Unix socket, before it
   * starts (so nothing it says is missed): a raw stream, written as the container's stdin and
   * read as its output in frames (an 8-byte header each: 1 stdout, 2 stderr, then the length).
   * A container created with its stdin open for one attach only sees the end of its input when
   * this stream closes, also when this process dies.
   */
  public static java.nio.channels.SocketChannel attachStreams(String socket, String id) throws IOException {
    var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(Path.of(socket)));
    try {
      String request = "POST /containers/" + id + "/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
          + "Host: docker\r\nContent-Type: text/plain\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
      java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
      while (out.hasRemaining()) {
        ch.write(out);
      }
      // The response's head, byte by byte: what follows it is the container's stream.
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
      while (head.size() < 8192) {
        one.clear();
        if (ch.read(one) < 0) {
          break;
        }
        head.write(one.get(0));
        byte[] h = head.toByteArray();
        int n = h.length;
        if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
          String status = new String(h, StandardCharsets.US_ASCII).lines().findFirst().orElse("");
          if (!status.matches("HTTP/1\\.[01] (101|200) .*")) {
            throw new IOException("the engine refused to attach: " + status);
          }
          return ch;
        }
      }
      throw new IOException("the engine's answer to attach ended early");
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  public void startContainer(String id) {
    client.startContainerCmd(id).exec();
  }

  /**
   * Creates a container of {@code parentId}'s image that runs {@code command} as the parent's user
   * and supplementary groups (so it may use the same Docker socket), with no network, no log, its
   * stdin and output open to one attach (its stdin ends when that attach does), and the given host
   * paths bind-mounted (host path -> path in it); the engine removes it when it exits. Never given a secret: its command, labels and environment
   * show in its inspect document.
   *
   * @return the container id
   */
  public String createSibling(String parentId, String name, List<String> command, Map<String, String> binds,
      Map<String, String> labels, List<String> env) {
    var parent = client.inspectContainerCmd(parentId).exec();
    List<Bind> bindList = new ArrayList<>();
    binds.forEach((hostPath, inside) -> bindList.add(new Bind(hostPath, new Volume(inside))));
    HostConfig hc = HostConfig.newHostConfig().withBinds(bindList).withAutoRemove(true).withNetworkMode("none")
        .withSecurityOpts(List.of("label=disable"))
        .withLogConfig(new com.github.dockerjava.api.model.LogConfig(
            com.github.dockerjava.api.model.LogConfig.LoggingType.NONE));
    if (parent.getHostConfig() != null && parent.getHostConfig().getGroupAdd() != null) {
      hc.withGroupAdd(parent.getHostConfig().getGroupAdd());
    }
    var cmd = client.createContainerCmd(parent.getImageId())
        .withName(name)
        .withCmd(command)
        .withLabels(labels)
        .withEnv(env)
        .withStdinOpen(true)
        .withStdInOnce(true)
        .withAttachStdin(true)
        .withAttachStdout(true)
        .withAttachStderr(true)
        .withTty(false)
        .withHostConfig(hc);
    String user = parent.getConfig() == null ? null : parent.getConfig().getUser();
    if (user != null && !user.isEmpty()) {
      cmd.withUser(user);
    }
    return cmd.exec().getId();
  }

  /** Sends a signal to a running container's main process; false when it is not running (or gone). */
  public boolean signal(String id, String signal) {
    try {
      client.killContainerCmd(id).withSignal(signal).exec();
      return true;
    } catch (NotFoundException | com.github.dockerjava.api.exception.ConflictException notRunning) {
      return false;
    }
  }

  /** Whether a container exists and runs. */
  public boolean running(String id) {
    try {
      return Boolean.TRUE.equals(client.inspectContainerCmd(id).exec().getState().getRunning());
    } catch (NotFoundException gone) {
      return false;
    }
  }

  /**
   * Blocks until a container is no longer running ({@code POST /containers/{id}/wait}) and returns
   * its exit code; a {@link NotFoundException} when it is gone already (removed with {@code --rm}).
   */
  public int awaitStop(String id) {
    Integer code = client.waitContainerCmd(id).exec(new com.github.dockerjava.api.command.WaitContainerResultCallback())
        .awaitStatusCode();
    return code == null ? -1 : code;
  }

  /** Ids of the containers carrying {@code label} (whatever its value) in the given state ("created", ...). */
  public List<String> containersLabeled(String label, String status) {
    return client.listContainersCmd().withShowAll(true).withLabelFilter(List.of(label))
        .withStatusFilter(List.of(status)).exec().stream().map(Container::getId).toList();
  }

  /** The containers carrying {@code label} in the given state ("created", ...): id -> the label's value. */
  public Map<String, String> labelValues(String label, String status) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (Container c : client.listContainersCmd().withShowAll(true).withLabelFilter(List.of(label))
        .withStatusFilter(List.of(status)).exec()) {
      out.put(c.getId(), c.getLabels() == null ? "" : c.getLabels().getOrDefault(label, ""));
    }
    return out;
  }

  /**
   * Removes a container (killed first) with its anonymous volumes, which its image's {@code VOLUME}
   * gave it and nothing else uses; a named volume is never removed this way.
   */
  public void removeContainerAndAnonymousVolumes(String id) {
    try {
      client.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
    } catch (NotFoundException gone) {
      // already removed
    }
  }

  public void removeContainer(String id) {
    try {
      client.removeContainerCmd(id).withForce(true).withRemoveVolumes(false).exec();
    } catch (NotFoundException gone) {
      // already removed
    }
  }

  @Override
  public void close() {
    try {
      client.close();
    } catch (IOException | RuntimeException ignored) {
      // closing a client that never connected
    }
  }
}
