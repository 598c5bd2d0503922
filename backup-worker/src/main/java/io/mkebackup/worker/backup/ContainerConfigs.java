package io.mkebackup.worker.backup;

import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.DockerEngine;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The container configurations step: each ucp-* container's inspect document as
 * {@code ./<name>.json}, root-owned and private (it names the volumes, images and environment).
 */
final class ContainerConfigs {
  private final ContainerEngine docker;
  private final String volumePrefix;

  ContainerConfigs(ContainerEngine docker, String volumePrefix) {
    this.docker = docker;
    this.volumePrefix = volumePrefix;
  }

  /** @return the containers' names, in the order written */
  List<String> write(ArchiveWriter archive) throws IOException {
    List<String> containers = new ArrayList<>();
    for (DockerEngine.ContainerConfig c : docker.ucpContainers(volumePrefix)) {
      archive.smallFile("./" + c.name() + ".json", EntryInfo.rootOwned(0600, Instant.now()), c.inspectJson());
      containers.add(c.name());
    }
    return containers;
  }
}
