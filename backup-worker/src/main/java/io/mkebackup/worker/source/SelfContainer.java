package io.mkebackup.worker.source;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ContainerNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The container this process runs in, as the Docker engine describes it, when it runs in one of
 * that engine's containers: its id (so a backup never takes it for an MKE component), its mounts
 * (so a backup file is only written where it outlives the container) and its networks (so etcd is
 * reached over one of them).
 *
 * <p>The id comes from the files Docker bind-mounts into every container ({@code /etc/hostname}
 * and friends come from {@code .../containers/<id>/}), else from the cgroup path (cgroup v1), and
 * counts only when the engine confirms it. On the host none of these name a container: the host's
 * own mount table lists containers' {@code shm} mounts, so only the mount points of a container's
 * own {@code /etc} files are trusted.
 */
public record SelfContainer(String id, String name, List<Mount> mounts, Map<String, String> networkIps,
    Map<String, String> networkGateways, boolean autoRemove, boolean hostNetwork) {
  private static final Pattern MOUNTED_FILE =
      Pattern.compile("/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\\.conf)$");
  private static final Pattern CGROUP = Pattern.compile("/docker[-/]([0-9a-f]{64})(?:\\.scope)?$");
  private static final Set<String> DOCKER_FILES = Set.of("/etc/hostname", "/etc/hosts", "/etc/resolv.conf");

  /**
   * One mount of the container: where it appears, what kind it is, the volume name (volumes
   * only), and where it comes from on the host ({@code Source}: a bind mount's host path, a
   * volume's directory; null for tmpfs).
   */
  public record Mount(String destination, String type, String volumeName, String source) {
    /** Whether data written here outlives the container. */
    public boolean outlivesContainer(boolean autoRemove) {
      if ("tmpfs".equals(type)) {
        return false;
      }
      // An anonymous volume (the image's VOLUME, no name given) goes with a --rm container.
      boolean anonymous = "volume".equals(type) && volumeName != null && volumeName.matches("[0-9a-f]{64}");
      return !(anonymous && autoRemove);
    }
  }

  /** The mount that holds {@code path}: the one whose destination is the longest prefix of it. */
  public Optional<Mount> mountHolding(Path path) {
    Mount best = null;
    for (Mount m : mounts) {
      Path dest = Path.of(m.destination());
      if (path.startsWith(dest) && (best == null || dest.getNameCount() > Path.of(best.destination()).getNameCount())) {
        best = m;
      }
    }
    return Optional.ofNullable(best);
  }

  /**
   * Where {@code path}, a path inside this container, is on the host: the source of the mount
   * that holds it ({@link #mountHolding}), and the rest of the path. Never guessed: a sibling
   * container given this path must see the same file (the engine's socket, say).
   *
   * @throws IOException when no mount holds it, or the one that does is not on the host's file
   *     system (tmpfs), naming the path and this container
   */
  public String hostPath(Path path) throws IOException {
    Mount m = mountHolding(path).orElseThrow(() -> new IOException(path + " is in no mount of container " + name
        + ", so its path on the host is unknown"));
    if (m.source() == null || m.source().isEmpty()) {
      throw new IOException(path + " is on a " + m.type() + " mount (" + m.destination() + ") of container " + name
          + ", which has no path on the host");
    }
    return Path.of(m.source()).resolve(Path.of(m.destination()).relativize(path)).toString();
  }

  /** Whether this process's mount table or cgroup names a container (the engine is not asked). */
  public static boolean looksLikeContainer() {
    return !candidateIds(read("/proc/self/mountinfo"), read("/proc/self/cgroup")).isEmpty();
  }

  /** Asks the engine about each candidate id of this process's container; empty on the host. */
  static Optional<SelfContainer> detect(DockerEngine docker) {
    for (String id : candidateIds(read("/proc/self/mountinfo"), read("/proc/self/cgroup"))) {
      try {
        return Optional.of(of(docker.client().inspectContainerCmd(id).exec()));
      } catch (NotFoundException notThisEngine) {
        // a container of another engine (Docker in Docker), or not a container id after all
      }
    }
    return Optional.empty();
  }

  static SelfContainer of(InspectContainerResponse c) {
    List<Mount> mounts = new ArrayList<>();
    if (c.getMounts() != null) {
      for (InspectContainerResponse.Mount m : c.getMounts()) {
        Object type = m.getRawValues() == null ? null : m.getRawValues().get("Type");
        // docker-java 3.7 models no Type; a named mount is a volume, anything else here a bind mount
        // (tmpfs mounts come from HostConfig below).
        mounts.add(new Mount(m.getDestination() == null ? "/" : m.getDestination().getPath(),
            type != null ? String.valueOf(type) : m.getName() != null && !m.getName().isEmpty() ? "volume" : "bind",
            m.getName(), m.getSource()));
      }
    }
    if (c.getHostConfig() != null && c.getHostConfig().getTmpFs() != null) {
      c.getHostConfig().getTmpFs().keySet().forEach(d -> mounts.add(new Mount(d, "tmpfs", null, null)));
    }
    Map<String, String> ips = new java.util.LinkedHashMap<>();
    Map<String, String> gateways = new java.util.LinkedHashMap<>();
    if (c.getNetworkSettings() != null && c.getNetworkSettings().getNetworks() != null) {
      for (Map.Entry<String, ContainerNetwork> n : c.getNetworkSettings().getNetworks().entrySet()) {
        if (n.getValue().getIpAddress() != null && !n.getValue().getIpAddress().isEmpty()) {
          ips.put(n.getKey(), n.getValue().getIpAddress());
        }
        if (n.getValue().getGateway() != null && !n.getValue().getGateway().isEmpty()) {
          gateways.put(n.getKey(), n.getValue().getGateway());
        }
      }
    }
    boolean autoRemove = c.getHostConfig() != null && Boolean.TRUE.equals(c.getHostConfig().getAutoRemove());
    String name = c.getName() == null ? c.getId() : c.getName().replaceFirst("^/", "");
    boolean hostNetwork = c.getHostConfig() != null && "host".equals(c.getHostConfig().getNetworkMode());
    return new SelfContainer(c.getId(), name, List.copyOf(mounts), Map.copyOf(ips), Map.copyOf(gateways), autoRemove,
        hostNetwork);
  }

  /** Container ids this process may run in, most trustworthy first, from its mount table and cgroup. */
  static List<String> candidateIds(String mountinfo, String cgroup) {
    Set<String> ids = new LinkedHashSet<>();
    for (String line : mountinfo.split("\n")) {
      String[] f = line.split(" ");
      // mountinfo: id parent major:minor root mount-point options ... - type source super-options
      if (f.length > 4 && DOCKER_FILES.contains(f[4])) {
        Matcher m = MOUNTED_FILE.matcher(f[3]);
        if (m.find()) {
          ids.add(m.group(1));
        }
      }
    }
    for (String line : cgroup.split("\n")) {
      int colon = line.lastIndexOf(':');
      Matcher m = CGROUP.matcher(colon < 0 ? line : line.substring(colon + 1));
      if (m.find()) {
        ids.add(m.group(1));
      }
    }
    return List.copyOf(ids);
  }

  private static String read(String file) {
    try {
      return Files.readString(Path.of(file));
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }
}
