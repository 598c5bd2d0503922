package io.mkebackup.worker.restore;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Threads;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.SelfContainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * A restore run as MKE runs its own, in a container given only the Docker socket
 * ({@code docker container run --rm -i -v /var/run/docker.sock:/var/run/docker.sock mke-backup
 * restore ... < backup.tar}), which cannot see the volumes' directories: it goes through the
 * engine. It starts a sibling container from its own image, with the engine's volume directory
 * and socket bind-mounted at the paths the engine names, running the same restore
 * ({@code restore --relayed}) there; relays the passphrase (one line) and then the archive, as it
 * reads it, to the sibling's standard input, and the sibling's progress back to its own stderr.
 * The sibling verifies and stages exactly as a restore on the host does.
 *
 * <p>Nothing outlives the restore: the sibling is removed by the engine when it exits, and its
 * standard input is open for this one attach only, so when this process dies (even killed) the
 * engine closes it, the sibling's restore fails on the truncated archive, putting every volume
 * back as it was and removing those it created, and exits. A sibling created but never started
 * (killed in between) is removed by the next restore.
 */
public final class SiblingRestore {
  /** Label on the sibling containers; its value is the id of the container that started it. */
  public static final String LABEL = "io.mkebackup.restore-helper";
  /** The last line of a relayed restore's stdout: its exit code. */
  public static final String EXIT_LINE = "mke-backup-restore-exit ";

  private SiblingRestore() {}

  /**
   * The container this process runs in when the volumes' directories are not visible from it
   * (so a restore must go through the engine); empty on the host or with the volumes mounted.
   */
  public static Optional<SelfContainer> needed(String dockerHost) {
    if (!SelfContainer.looksLikeContainer()) {
      return Optional.empty();
    }
    try (DockerEngine docker = DockerEngine.connect(dockerHost)) {
      Optional<SelfContainer> self = docker.self();
      if (self.isEmpty() || Files.isDirectory(docker.dockerRootDir().resolve("volumes"))) {
        return Optional.empty();
      }
      return self;
    }
  }

  /**
   * Runs the restore in a sibling container and waits for it.
   *
   * @param restoreArgs the sibling's restore options (never a secret: they show in its inspect document)
   * @param passphrase the passphrase's UTF-8 bytes, sent first as one line (zeroed once sent); null: none
   * @param archive the archive, relayed as it is read
   * @param err where the sibling's progress and errors go, line by line
   * @return the sibling restore's exit code
   */
  public static int run(String dockerHost, SelfContainer self, List<String> restoreArgs, byte[] passphrase,
      InputStream archive, Consumer<String> err) throws IOException {
    URI host = URI.create(dockerHost);
    if (!"unix".equals(host.getScheme())) {
      throw BackupException.invalid("--docker-host", "restore in a container that cannot see the volumes goes"
          + " through the Docker engine's socket, mounted into the container (unix://...); " + dockerHost
          + " is not one");
    }
    if (passphrase != null) {
      for (byte b : passphrase) {
        if (b == '\n' || b == '\r') {
          throw BackupException.invalid("--passphrase", "the passphrase holds a line break");
        }
      }
    }
    String socket = host.getPath();
    String name = "mke-backup-restore-" + UUID.randomUUID().toString().substring(0, 8);
    try (DockerEngine docker = DockerEngine.connect(dockerHost)) {
      for (String stale : docker.containersLabeled(LABEL, "created")) {
        docker.removeContainer(stale); // a restore killed between creating and starting its sibling
      }
      String image = docker.imageOf(self.id());
      String volumes = docker.dockerRootDir().resolve("volumes").toString();
      Map<String, String> binds = new LinkedHashMap<>();
      binds.put(volumes, volumes);
      String socketOnHost;
      try {
        socketOnHost = self.hostPath(Path.of(socket));
      } catch (IOException unknown) {
        throw new BackupException(ErrorCode.RESTORE_FAILED, "restore: the Docker socket: " + unknown.getMessage()
            + ", so the path to give the restoring container is unknown; mount the host's socket"
            + " (-v /var/run/docker.sock:" + socket + ")", unknown);
      }
      binds.put(socketOnHost, socket);
      List<String> command = new ArrayList<>(List.of("restore", "--relayed", "--docker-host", dockerHost));
      command.addAll(restoreArgs);
      String id = docker.createAttachedContainer(image, name, command, binds, Map.of(LABEL, self.id()));
      SocketChannel attach = null;
      try {
        attach = DockerEngine.attachStreams(socket, id);
        docker.startContainer(id);
      } catch (IOException | RuntimeException e) {
        if (attach != null) {
          attach.close();
        }
        docker.removeContainer(id);
        if (passphrase != null) {
          Arrays.fill(passphrase, (byte) 0);
        }
        throw new BackupException(ErrorCode.RESTORE_FAILED, "cannot start the restore's container " + name + " from"
            + " image " + image + ": " + e.getMessage(), e);
      }
      err.accept("restore: the volumes are not visible in this container; restoring through the Docker engine, in"
          + " container " + name + " (same image, removed when done)");
      try (SocketChannel stream = attach) {
        Threads.start("mke-backup-restore-relay", () -> pump(stream, passphrase, archive));
        Integer exit = relayOutput(new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(stream),
            1 << 16), err);
        if (exit == null) {
          throw new BackupException(ErrorCode.RESTORE_FAILED, "restore failed: its container " + name + " ended"
              + " without a result");
        }
        return exit;
      }
    }
  }

  /** Passphrase line, then the archive, then end of input (the sibling reads to it). */
  private static void pump(SocketChannel ch, byte[] passphrase, InputStream archive) {
    try {
      if (passphrase != null) {
        byte[] line = Arrays.copyOf(passphrase, passphrase.length + 1);
        line[passphrase.length] = '\n';
        Arrays.fill(passphrase, (byte) 0);
        try {
          writeAll(ch, ByteBuffer.wrap(line));
        } finally {
          Arrays.fill(line, (byte) 0);
        }
      }
      byte[] buf = new byte[1 << 16];
      for (int n = archive.read(buf); n >= 0; n = archive.read(buf)) {
        writeAll(ch, ByteBuffer.wrap(buf, 0, n));
      }
      ch.shutdownOutput();
    } catch (IOException e) {
      // The sibling stopped reading (it refused the archive and ended): its output says why.
    }
  }

  private static void writeAll(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /**
   * The sibling's output, frame by frame (1: stdout, 2: stderr, an 8-byte header each): stderr
   * goes to {@code err} line by line; stdout carries only the exit line, returned (null if none).
   */
  static Integer relayOutput(InputStream in, Consumer<String> err) throws IOException {
    ByteArrayOutputStream[] lines = {new ByteArrayOutputStream(), new ByteArrayOutputStream(), new ByteArrayOutputStream()};
    Integer exit = null;
    byte[] header = new byte[8];
    while (true) {
      int got = in.readNBytes(header, 0, 8);
      if (got < 8) {
        break;
      }
      int stream = header[0];
      long size = ((header[4] & 0xffL) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8)
          | (header[7] & 0xff);
      ByteArrayOutputStream line = lines[stream == 1 ? 1 : 2];
      for (long i = 0; i < size; i++) {
        int b = in.read();
        if (b < 0) {
          break;
        }
        if (b == '\n') {
          String text = line.toString(StandardCharsets.UTF_8);
          line.reset();
          if (stream == 1) {
            if (text.startsWith(EXIT_LINE) && text.substring(EXIT_LINE.length()).matches("\\d{1,3}")) {
              exit = Integer.parseInt(text.substring(EXIT_LINE.length()));
            }
          } else {
            err.accept(text);
          }
        } else if (line.size() < 64 * 1024) {
          line.write(b);
        }
      }
    }
    if (lines[2].size() > 0) {
      err.accept(lines[2].toString(StandardCharsets.UTF_8));
    }
    return exit;
  }
}
