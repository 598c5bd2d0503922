package io.mkebackup.deploy.demo;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The demo's ucp-kv image: this machine's etcd binary (Debian's etcd-server) and the C libraries it
 * links, {@code FROM scratch}, built by the local Docker engine (no registry, no base image).
 */
final class EtcdImage {
  static final String REPOSITORY = "mke-backup-demo-etcd";
  /** The value of {@link DemoState#LABEL} on the image. */
  static final String IMAGE_LABEL = "etcd-image";
  private static final Pattern VERSION = Pattern.compile("etcd Version: (\\S+)");
  private static final Pattern LIBRARY = Pattern.compile("(/\\S+)");

  private EtcdImage() {}

  /** The image's tag, built first when the engine does not have it. */
  static String ensure(DockerClient docker, java.io.PrintWriter out) throws IOException {
    Path etcd;
    try {
      etcd = binary("etcd");
    } catch (BackupException noEtcd) {
      // demo-state in its own container (FROM scratch, no etcd): an image built beforehand is used
      String built = existing(docker, IMAGE_LABEL, REPOSITORY);
      if (built == null) {
        throw noEtcd;
      }
      out.println("no etcd here to build an image from: using image " + built + ", built beforehand");
      return built;
    }
    String tag = REPOSITORY + ":" + version(etcd);
    try {
      docker.inspectImageCmd(tag).exec();
      return tag;
    } catch (NotFoundException missing) {
      // built below
    }
    File context = File.createTempFile("mke-demo-etcd-", ".tar");
    try {
      try (OutputStream os = Files.newOutputStream(context.toPath());
          TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        byte[] dockerfile = ("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/usr/bin/etcd\"]\n")
            .getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry d = new TarArchiveEntry("Dockerfile");
        d.setSize(dockerfile.length);
        tar.putArchiveEntry(d);
        tar.write(dockerfile);
        tar.closeArchiveEntry();
        add(tar, etcd, "rootfs/usr/bin/etcd");
        for (String lib : libraries(etcd)) {
          add(tar, Path.of(lib), "rootfs" + lib);
        }
      }
      try (InputStream in = Files.newInputStream(context.toPath())) {
        docker.buildImageCmd(in).withTags(Set.of(tag)).withPull(false).withRemove(true)
            .withLabels(Map.of(DemoState.LABEL, IMAGE_LABEL))
            .exec(new BuildImageResultCallback()).awaitImageId(5, TimeUnit.MINUTES);
      }
    } finally {
      Files.deleteIfExists(context.toPath());
    }
    out.println("built image " + tag + " from " + etcd);
    return tag;
  }

  /**
   * A tag of {@code repository} on the newest image (by its creation time) this demo built
   * (labelled {@code label}), else null.
   */
  static String existing(DockerClient docker, String label, String repository) {
    return docker.listImagesCmd().withLabelFilter(Map.of(DemoState.LABEL, label)).exec().stream()
        .filter(i -> i.getRepoTags() != null)
        .sorted(java.util.Comparator.comparing((com.github.dockerjava.api.model.Image i) ->
            i.getCreated() == null ? 0L : i.getCreated()).reversed())
        .flatMap(i -> java.util.Arrays.stream(i.getRepoTags()))
        .filter(t -> t.startsWith(repository + ":"))
        .findFirst().orElse(null);
  }

  static void add(TarArchiveOutputStream tar, Path file, String name) throws IOException {
    Path real = file.toRealPath();
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(Files.size(real));
    e.setMode(0755);
    tar.putArchiveEntry(e);
    try (InputStream in = Files.newInputStream(real)) {
      in.transferTo(tar);
    }
    tar.closeArchiveEntry();
  }

  static Path binary(String name) {
    return binary(name, "apt-get install etcd-server");
  }

  /** A program on PATH; missing, an error that says to run {@code install}. */
  static Path binary(String name, String install) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "demo-state runs Debian's " + name + " in a container but"
        + " finds no " + name + " on PATH; install it (" + install + ") or run deploy/prereqs.sh");
  }

  private static String version(Path etcd) throws IOException {
    Matcher m = VERSION.matcher(run(List.of(etcd.toString(), "--version")));
    if (!m.find()) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, etcd + " --version does not say its version");
    }
    return m.group(1).toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_.-]", "-");
  }

  /** The shared libraries and loader {@code ldd} lists; none for a static binary. */
  static List<String> libraries(Path binary) throws IOException {
    return parseLdd(run(List.of("ldd", binary.toString())));
  }

  static List<String> parseLdd(String ldd) {
    Set<String> libs = new LinkedHashSet<>();
    for (String line : ldd.split("\n")) {
      String target = line.contains("=>") ? line.substring(line.indexOf("=>") + 2) : line;
      Matcher m = LIBRARY.matcher(target.trim());
      if (m.lookingAt()) {
        libs.add(m.group(1));
      }
    }
    return new ArrayList<>(libs);
  }

  private static String run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return text;
  }
}
