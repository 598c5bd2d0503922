package io.mkebackup.worker.source;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Ports;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds ucp-kv's etcd the way MKE's own backup container does, through the Docker API: the
 * {@code <prefix>ucp-kv} container, an address of it this process can reach (over a Docker network
 * it shares with it, through a published port, or on the host network), and the client
 * certificates in the {@code <prefix>ucp-kv-certs} volume. The endpoint it returns is checked
 * against those certificates' CA, under a name etcd's own certificate carries.
 */
public final class EtcdDiscovery {
  /** etcd's client port inside its container when its command line does not say. */
  static final int DEFAULT_CLIENT_PORT = 2379;
  static final int MAX_PEM_BYTES = 64 * 1024;
  private static final int CONNECT_TIMEOUT_MS = 1500;

  private EtcdDiscovery() {}

  /**
   * The configured endpoint, or for {@code auto} the one found through the Docker engine at
   * {@code dockerHost} (null: none).
   *
   * @param prefix the volume and container name prefix (empty on MKE)
   * @param helperImage the image of a helper container, should the certificates need one
   */
  public static EtcdEndpoint resolve(EtcdEndpoint configured, String dockerHost, String prefix, String helperImage) {
    if (configured == null || !configured.isAuto()) {
      return configured;
    }
    try (DockerEngine docker = DockerEngine.connect(dockerHost)) {
      return find(docker, prefix, helperImage, configured.timeout());
    }
  }

  public static EtcdEndpoint find(DockerEngine docker, String prefix, String helperImage, Duration timeout) {
    String name = prefix + "ucp-kv";
    InspectContainerResponse kv;
    try {
      kv = docker.client().inspectContainerCmd(name).exec();
    } catch (NotFoundException e) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv): there is no " + name + " container on"
          + " the Docker engine at " + docker.host() + " to find ucp-kv's etcd by; run the backup on an MKE manager,"
          + " or give --etcd-endpoint URL (with its TLS files), or --etcd-endpoint none to leave ucp-kv out", e);
    }
    if (kv.getState() == null || !Boolean.TRUE.equals(kv.getState().getRunning())) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv): the " + name + " container is not running ("
          + (kv.getState() == null ? "no state" : kv.getState().getStatus()) + "); start it (docker start " + name
          + ") and retry");
    }
    URI listen = clientUrl(kv);
    int port = listen.getPort() > 0 ? listen.getPort() : DEFAULT_CLIENT_PORT;
    Optional<SelfContainer> self = docker.self();
    List<InetSocketAddress> candidates = candidates(kv, port, self, swarmNodeAddress(docker));
    InetSocketAddress reached = candidates.stream().filter(EtcdDiscovery::answers).findFirst()
        .orElseThrow(() -> new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv): none of the " + name
            + " container's addresses answers from " + self.map(s -> "this container (" + s.name() + ")")
                .orElse("this host") + " (tried " + (candidates.isEmpty() ? "none" : addresses(candidates))
            + "); put this container on a network " + name + " is on, or give --etcd-endpoint URL"));
    String host = reached.getAddress().getHostAddress();
    if ("http".equals(listen.getScheme())) {
      return new EtcdEndpoint("http://" + host + ":" + reached.getPort(), null, null, null, timeout);
    }
    // ucp-kv mounts its certificates: read them through it rather than through a helper of our own.
    String certsVolume = prefix + "ucp-kv-certs";
    DockerEngine.MountedAt mounted = kv.getMounts() == null ? null : kv.getMounts().stream()
        .filter(m -> certsVolume.equals(m.getName()) && m.getDestination() != null)
        .map(m -> new DockerEngine.MountedAt(kv.getId(), m.getDestination().getPath())).findFirst().orElse(null);
    Map<String, byte[]> certs = docker.readVolumeFiles(helperImage, certsVolume,
        List.of("ca.pem", "cert.pem", "key.pem"), MAX_PEM_BYTES, mounted);
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      if (!certs.containsKey(f)) {
        throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv): the volume " + prefix + "ucp-kv-certs"
            + " has no " + f + ", so there is no client certificate to reach etcd with");
      }
    }
    String authority = authority(certs.get("cert.pem"), host, name);
    return new EtcdEndpoint("https://" + host + ":" + reached.getPort(), null, null, null, timeout,
        new EtcdEndpoint.Pem(certs.get("ca.pem"), certs.get("cert.pem"), certs.get("key.pem")), authority);
  }

  /** The first of etcd's {@code --listen-client-urls} on the container's command line, else https on 2379. */
  static URI clientUrl(InspectContainerResponse kv) {
    List<String> args = new ArrayList<>();
    if (kv.getPath() != null) {
      args.add(kv.getPath());
    }
    if (kv.getArgs() != null) {
      args.addAll(List.of(kv.getArgs()));
    }
    return clientUrl(args);
  }

  static URI clientUrl(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      String value = null;
      if (a.startsWith("--listen-client-urls=")) {
        value = a.substring(a.indexOf('=') + 1);
      } else if (a.equals("--listen-client-urls") && i + 1 < args.size()) {
        value = args.get(i + 1);
      }
      if (value != null) {
        try {
          URI u = URI.create(value.split(",")[0].trim());
          if (u.getScheme() != null && u.getPort() > 0) {
            return u;
          }
        } catch (IllegalArgumentException ignored) {
          // fall through to the default
        }
      }
    }
    return URI.create("https://0.0.0.0:" + DEFAULT_CLIENT_PORT);
  }

  /**
   * Where ucp-kv may answer, most direct first. From a container: ucp-kv's address on a network both
   * are on, the host (this network's gateway) when ucp-kv uses the host's network or publishes its
   * port on every interface. From the host (or a container on its network): a published port on
   * loopback or every interface, the port on the host's network, ucp-kv's address on each of its
   * networks (Linux routes to them).
   */
  static List<InetSocketAddress> candidates(InspectContainerResponse kv, int port, Optional<SelfContainer> self) {
    return candidates(kv, port, self, null);
  }

  /**
   * The engine's address in its Swarm (null: not in one). A Swarm task's networks are overlays,
   * whose gateway is not the host; the task reaches its node's own address through the node's
   * gateway bridge, and so a port ucp-kv publishes on every interface.
   */
  static String swarmNodeAddress(DockerEngine docker) {
    try {
      return docker.swarmNodeAddress();
    } catch (RuntimeException e) {
      return null; // an engine that does not say: the other candidates stand
    }
  }

  static List<InetSocketAddress> candidates(InspectContainerResponse kv, int port, Optional<SelfContainer> self,
      String swarmNodeAddress) {
    boolean hostNetwork = kv.getHostConfig() != null && "host".equals(kv.getHostConfig().getNetworkMode());
    Map<String, ContainerNetwork> networks = kv.getNetworkSettings() == null
        || kv.getNetworkSettings().getNetworks() == null ? Map.of() : kv.getNetworkSettings().getNetworks();
    List<Ports.Binding> published = new ArrayList<>();
    if (kv.getNetworkSettings() != null && kv.getNetworkSettings().getPorts() != null) {
      Ports.Binding[] b = kv.getNetworkSettings().getPorts().getBindings().get(ExposedPort.tcp(port));
      if (b != null) {
        published.addAll(List.of(b));
      }
    }
    Set<InetSocketAddress> out = new LinkedHashSet<>();
    // A container on the host's network (docker run --network host) reaches what the host reaches.
    if (self.isPresent() && !self.get().hostNetwork()) {
      SelfContainer me = self.get();
      for (Map.Entry<String, ContainerNetwork> n : networks.entrySet()) {
        if (me.networkIps().containsKey(n.getKey()) && !blank(n.getValue().getIpAddress())) {
          out.add(address(n.getValue().getIpAddress(), port));
        }
      }
      for (String gateway : me.networkGateways().values()) {
        if (hostNetwork) {
          out.add(address(gateway, port));
        }
        for (Ports.Binding b : published) {
          if (everyInterface(b.getHostIp())) {
            out.add(address(gateway, Integer.parseInt(b.getHostPortSpec())));
          }
        }
      }
      if (swarmNodeAddress != null) {
        if (hostNetwork) {
          out.add(address(swarmNodeAddress, port));
        }
        for (Ports.Binding b : published) {
          if (everyInterface(b.getHostIp())) {
            out.add(address(swarmNodeAddress, Integer.parseInt(b.getHostPortSpec())));
          }
        }
      }
    } else {
      for (Ports.Binding b : published) {
        String ip = everyInterface(b.getHostIp()) ? "127.0.0.1" : b.getHostIp();
        if (!ip.contains(":")) { // an IPv6 binding of the same port adds nothing here
          out.add(address(ip, Integer.parseInt(b.getHostPortSpec())));
        }
      }
      if (hostNetwork) {
        out.add(address("127.0.0.1", port));
      }
      for (ContainerNetwork n : networks.values()) {
        if (!blank(n.getIpAddress())) {
          out.add(address(n.getIpAddress(), port));
        }
      }
    }
    return List.copyOf(out);
  }

  /**
   * The name to check etcd's certificate against: the address itself when the certificate names it,
   * else the container's name, else another name the certificate carries (the CA's signature is what
   * proves it is MKE's ucp-kv; the name only picks which of its names to expect).
   */
  static String authority(byte[] certPem, String host, String containerName) {
    List<String> names = subjectAltNames(certPem);
    for (String want : List.of(host, containerName, "ucp-kv", "localhost", "127.0.0.1")) {
      if (names.contains(want)) {
        return want;
      }
    }
    return names.isEmpty() ? null : names.get(0);
  }

  static List<String> subjectAltNames(byte[] certPem) {
    try {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(certPem));
      Collection<List<?>> sans = c.getSubjectAlternativeNames();
      List<String> out = new ArrayList<>();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() > 1 && san.get(1) instanceof String s && ((Integer) san.get(0) == 2 || (Integer) san.get(0) == 7)) {
            out.add(s);
          }
        }
      }
      return out;
    } catch (CertificateParsingException e) {
      return List.of();
    } catch (CertificateException e) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv): cert.pem in ucp-kv-certs is not a PEM"
          + " certificate (" + e.getMessage() + ")", e);
    }
  }

  private static boolean answers(InetSocketAddress a) {
    try (Socket s = new Socket()) {
      s.connect(a, CONNECT_TIMEOUT_MS);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean everyInterface(String hostIp) {
    return blank(hostIp) || "0.0.0.0".equals(hostIp) || "::".equals(hostIp);
  }

  private static boolean blank(String s) {
    return s == null || s.isEmpty();
  }

  private static InetSocketAddress address(String ip, int port) {
    return new InetSocketAddress(ip, port);
  }

  private static String addresses(List<InetSocketAddress> list) {
    return String.join(", ", list.stream().map(a -> a.getHostString() + ":" + a.getPort()).toList());
  }
}
