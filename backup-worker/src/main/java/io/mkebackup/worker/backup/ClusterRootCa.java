package io.mkebackup.worker.backup;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.cluster.ClusterSecret;
import io.mkebackup.worker.source.DockerEngine;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

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
  public static ClusterSecret secret(Path secretFile, String fileField, BackupConfig config) {
    if (secretFile != null) {
      return ClusterSecret.fromFile(secretFile, fileField);
    }
    String volume = config.volumePrefix() + VOLUME;
    try (DockerEngine docker = DockerEngine.connect(config.dockerHost())) {
      Optional<Path> mountpoint = docker.volumeMountpoint(volume);
      if (mountpoint.isEmpty()) {
        throw new BackupException(ErrorCode.NO_MKE_STATE, fileField, "no cluster secret: the Docker engine at "
            + config.dockerHost() + " has no volume " + volume + " (this is not an MKE manager) and " + fileField
            + " is not set. Put one random secret in a file on every manager ('head -c 32 /dev/urandom | base64"
            + " > FILE; chmod 600 FILE') and set " + fileField + " to it", null);
      }
      byte[] pem = readKey(docker, config, volume);
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

  /**
   * Through {@link DockerEngine#readVolumeFiles}, the guarded reader every volume file a manager
   * trusts goes through: from the mountpoint without following a link or opening anything but the
   * regular file listed, else through a helper container's archive API.
   */
  private static byte[] readKey(DockerEngine docker, BackupConfig config, String volume) {
    byte[] key = docker.readVolumeFiles(config.helperImage(), volume, List.of(KEY_FILE), MAX_KEY_BYTES).get(KEY_FILE);
    if (key == null) {
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "volume " + volume + " has no " + KEY_FILE
          + ": it is not MKE's cluster root CA");
    }
    return key;
  }
}
