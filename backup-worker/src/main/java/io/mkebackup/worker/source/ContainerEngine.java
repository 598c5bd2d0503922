package io.mkebackup.worker.source;

import io.mkebackup.worker.source.DockerEngine.ContainerConfig;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a backup asks of the container engine: its ucp-* volumes and containers, and a
 * never-started helper container whose archive API streams volumes this process cannot read.
 * {@link DockerEngine} is the real one; a test can hand the backup procedure its own.
 */
public interface ContainerEngine extends AutoCloseable {
  /** Where the engine is, for messages. */
  String host();

  String version();

  /** Every {@code <prefix>ucp-*} volume, sorted by name. */
  List<VolumeInfo> ucpVolumes(String prefix);

  /** Inspect documents of every {@code <prefix>ucp-*} container but this process's own, sorted by name. */
  List<ContainerConfig> ucpContainers(String prefix);

  /**
   * Creates (never starts) a container mounting the volumes read-only, each at {@link
   * DockerEngine#MOUNT_ROOT}{@code <name>}, or at {@link DockerEngine#APART_ROOT}{@code <name>} for
   * those in {@code apart}; returns its id.
   */
  String createHelper(String image, String name, List<String> volumeNames, Set<String> apart,
      Map<String, String> labels);

  /** As {@link #createHelper(String, String, List, Set, Map)}, every volume under {@link DockerEngine#MOUNT_ROOT}. */
  default String createHelper(String image, String name, List<String> volumeNames, Map<String, String> labels) {
    return createHelper(image, name, volumeNames, Set.of(), labels);
  }

  /**
   * A container that mounts a volume: its id, name (without slash), whether it mounts it
   * read-write, and whether it runs and is paused.
   */
  record Mounter(String id, String name, boolean readWrite, boolean running, boolean paused) {}

  /** Every container but this process's own that mounts the named volume. */
  default List<Mounter> mounters(String volumeFullName) {
    return List.of();
  }

  /** Freezes a running container's processes (the cgroup freezer: {@code docker pause}). */
  default void pause(String containerId) {
    throw new UnsupportedOperationException("pause");
  }

  /** Thaws a paused container; false when it was not paused (or is gone). */
  default boolean unpause(String containerId) {
    throw new UnsupportedOperationException("unpause");
  }

  /**
   * The container of this engine that this process runs in, if it runs in one: a freeze then
   * guards its pause with a sibling container, which outlives this one.
   */
  default java.util.Optional<SelfContainer> self() {
    return java.util.Optional.empty();
  }

  /** The tar stream of a path in a container. */
  InputStream archive(String containerId, String path);

  void removeContainer(String id);

  @Override
  void close();
}
