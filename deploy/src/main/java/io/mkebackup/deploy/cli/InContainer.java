package io.mkebackup.deploy.cli;

import io.mkebackup.common.BackupException;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.SelfContainer;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A backup run as the seed runs it, in a container ({@code docker container run ... --volume
 * /tmp:/backup mke-backup backup --file mybackup.tar}): a relative {@code --file} goes into
 * {@code /backup}, the documented mount, and a file anywhere that does not outlive the container is
 * refused before any work, instead of a SUCCESS whose archive {@code --rm} throws away.
 */
final class InContainer {
  static final Path BACKUP_MOUNT = Path.of("/backup");

  private InContainer() {}

  /** This process's container, asked of the Docker engine only when the process looks like it runs in one. */
  static Optional<SelfContainer> detect(String dockerHost) {
    if (!SelfContainer.looksLikeContainer()) {
      return Optional.empty();
    }
    try (DockerEngine docker = DockerEngine.connect(dockerHost)) {
      return docker.self();
    }
  }

  /** The engine's own name for its node: what a backup taken in a container records as its node. */
  static String engineNodeName(String dockerHost) {
    try (DockerEngine docker = DockerEngine.connect(dockerHost)) {
      return docker.engineName();
    }
  }

  /** Where {@code --file} goes in this container, or a refusal naming the mount to add. */
  static Path target(Path file, SelfContainer self) {
    Path target = (file.isAbsolute() ? file : BACKUP_MOUNT.resolve(file)).normalize();
    Path dir = target.getParent();
    Optional<SelfContainer.Mount> mount = self.mountHolding(dir);
    String why = null;
    if (mount.isEmpty() || mount.get().destination().equals("/")) {
      why = dir + " is not on a volume mounted into this container";
    } else if (!mount.get().outlivesContainer(self.autoRemove())) {
      why = dir + " is on " + ("tmpfs".equals(mount.get().type()) ? "a tmpfs mount"
          : "an anonymous volume that --rm removes with the container");
    }
    if (why != null) {
      Path suggested = mount.isEmpty() || mount.get().destination().equals("/") ? dir : Path.of(mount.get().destination());
      throw BackupException.invalid("--file", "--file " + target + ": " + why + " (" + self.name() + "), so the backup"
          + " would be lost with the container; mount a host directory there, e.g. docker container run ... --volume"
          + " /path/on/host:" + suggested + " ...");
    }
    return target;
  }
}
