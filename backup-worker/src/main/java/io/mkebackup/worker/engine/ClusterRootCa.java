package io.mkebackup.worker.engine;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.worker.engine.EngineConfig.SourceMode;
import io.mkebackup.worker.source.DockerEngine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Where a manager's cluster secret comes from: the operator's file, or on an MKE manager the key
 * of MKE's cluster root CA, which every manager holds in its {@code ucp-cluster-root-ca} volume
 * and which MKE itself issues its components' mutual-TLS certificates with. The key is read like
 * any volume: from the mountpoint when this process may, else through the Docker archive API of a
 * created, never-started helper container. It is read into memory only (a few hundred bytes),
 * never through a link, and never written anywhere.
 */
public final class ClusterRootCa {
  public static final String VOLUME = "ucp-cluster-root-ca";
  static final String KEY_FILE = "key.pem";
  private static final int MAX_KEY_BYTES = 64 * 1024;

  private ClusterRootCa() {}

  /**
   * The cluster secret: the file's when one is configured, else derived from this manager's MKE
   * cluster root CA key.
   *
   * @param secretFile the operator's secret file, or null
   * @param fileField how the configuration names the file (for errors): clusterSecretFile or
   *     --cluster-secret-file
   */
  public static ClusterSecret secret(Path secretFile, String fileField, EngineConfig engine) {
    if (secretFile != null) {
      return ClusterSecret.fromFile(secretFile, fileField);
    }
    String volume = engine.volumePrefix() + VOLUME;
    try (DockerEngine docker = DockerEngine.connect(engine.dockerHost())) {
      Optional<Path> mountpoint = docker.volumeMountpoint(volume);
      if (mountpoint.isEmpty()) {
        throw new BackupException(ErrorCode.NO_MKE_STATE, fileField, "no cluster secret: the Docker engine at "
            + engine.dockerHost() + " has no volume " + volume + " (this is not an MKE manager) and " + fileField
            + " is not set. Put one random secret in a file on every manager ('head -c 32 /dev/urandom | base64"
            + " > FILE; chmod 600 FILE') and set " + fileField + " to it", null);
      }
      byte[] pem = readKey(docker, engine, volume, mountpoint.get());
      try {
        return ClusterSecret.fromRootCaKey(pem, "the key of MKE's cluster root CA (volume " + volume + ")");
      } finally {
        java.util.Arrays.fill(pem, (byte) 0);
      }
    } catch (BackupException e) {
      if (e.code() == ErrorCode.DOCKER_UNAVAILABLE) {
        throw new BackupException(e.code(), fileField, "the cluster secret comes from MKE's cluster root CA when "
            + fileField + " is not set, and " + e.getMessage(), e);
      }
      throw e;
    }
  }

  private static byte[] readKey(DockerEngine docker, EngineConfig engine, String volume, Path mountpoint) {
    Path key = mountpoint.resolve(KEY_FILE);
    if (engine.sourceMode() != SourceMode.DOCKER && Files.isReadable(mountpoint)
        && Files.isRegularFile(key, LinkOption.NOFOLLOW_LINKS)) {
      try (InputStream in = Files.newInputStream(key, LinkOption.NOFOLLOW_LINKS)) {
        return bounded(in, volume);
      } catch (IOException e) {
        // fall back to the Docker API below
      }
    }
    String helper = docker.createHelper(engine.helperImage(),
        engine.volumePrefix() + "mke-backup-trust-" + UUID.randomUUID().toString().substring(0, 8), List.of(volume),
        Map.of(DockerEngine.HELPER_LABEL, "cluster-trust"));
    try (InputStream raw = docker.archive(helper, DockerEngine.MOUNT_ROOT + volume + "/" + KEY_FILE);
        TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
      TarArchiveEntry e = tar.getNextEntry();
      if (e == null || !e.isFile()) {
        throw new IOException(KEY_FILE + " is not a regular file");
      }
      return bounded(tar, volume);
    } catch (IOException | RuntimeException e) {
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "cannot read " + KEY_FILE + " of volume " + volume
          + " through the Docker engine (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
    } finally {
      docker.removeContainer(helper);
    }
  }

  private static byte[] bounded(InputStream in, String volume) throws IOException {
    byte[] b = in.readNBytes(MAX_KEY_BYTES + 1);
    if (b.length > MAX_KEY_BYTES) {
      throw new IOException(KEY_FILE + " of volume " + volume + " is larger than a key");
    }
    return b;
  }
}
