package io.mkebackup.worker.backup;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.ProductInfo;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.freeze.Freezer;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.worker.pipeline.Pipeline;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdDiscovery;
import io.mkebackup.worker.source.EtcdSnapshotSource;
import io.mkebackup.worker.source.EtcdSource;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Takes one backup of this manager: validation, each ucp-* volume, the etcd snapshot, the auth
 * store, then the container configurations and the metadata entry, streamed as one tar through
 * optional OpenPGP encryption into a file that appears only when complete (or to a stream).
 * Blocking: call it from a worker thread, never an event loop.
 */
public final class BackupProcedure {
  private final BackupConfig config;
  private final Fence fence;
  private final Function<String, ContainerEngine> engines;
  private final Function<BackupConfig, EtcdSource> etcdSources;

  public BackupProcedure(BackupConfig config) {
    this(config, Fence.NONE);
  }

  /**
   * @param fence asked before every chunk the writer writes and before the archive and its log are
   *     renamed into place: a backup that lost the cluster's lock stops and leaves nothing behind
   */
  public BackupProcedure(BackupConfig config, Fence fence) {
    this(config, fence, DockerEngine::connect);
  }

  /**
   * As {@link #BackupProcedure(BackupConfig, Fence)}, with the container engine connected by
   * {@code engines} from the configured Docker host (a test's own engine, say).
   */
  public BackupProcedure(BackupConfig config, Fence fence, Function<String, ContainerEngine> engines) {
    this(config, fence, engines, BackupProcedure::connectEtcd);
  }

  /**
   * As {@link #BackupProcedure(BackupConfig, Fence, Function)}, with etcd (when the configuration
   * names one) found and connected by {@code etcdSources}, on a thread of the run's own.
   */
  public BackupProcedure(BackupConfig config, Fence fence, Function<String, ContainerEngine> engines,
      Function<BackupConfig, EtcdSource> etcdSources) {
    this.config = config;
    this.fence = fence;
    this.engines = engines;
    this.etcdSources = etcdSources;
  }

  /**
   * The real etcd of a configuration (which names one): found through ucp-kv when it says auto,
   * connected with jetcd. Readiness asks it too.
   */
  public static EtcdSource connectEtcd(BackupConfig config) {
    return EtcdSnapshotSource.connect(EtcdDiscovery.resolve(config.etcd(), config.dockerHost(), config.volumePrefix(),
        config.helperImage()));
  }

  public BackupConfig config() {
    return config;
  }

  /**
   * Takes the backup: the plan ({@link Validation}), then the steps in the order the archive holds
   * them ({@link VolumeCopy} for each volume, {@link EtcdSnapshotStep}, the auth store, {@link
   * ContainerConfigs}, the metadata entry). Whatever happens, what the run opened is closed at the
   * end ({@link RunResources}); a failure is reported once, classified, and thrown.
   */
  public BackupResult run(BackupRequest request, ProgressListener listener) {
    Instant createdAt = Instant.now();
    RunResources opened = new RunResources();
    Progress progress = new Progress(request.id(), listener, config.maxBytesPerSecond());
    try {
      if (request.logFile() != null) {
        opened.log = new RunLog(request.logFile(), request.passphrase(), request.id());
        progress = new Progress(request.id(), listener.and(opened.log), config.maxBytesPerSecond());
      }
      Progress p = progress;
      BackupPlan plan = new Validation(config, engines, etcdSources).plan(request, opened, p);
      List<String> warnings = new ArrayList<>(plan.warnings());
      // What a backup of this tool that died left paused runs again before anything else.
      Path spoolRoot = SpoolDirectory.root(config.spoolDir());
      List<String> thawed = Freezer.recover(spoolRoot, plan.docker());
      if (!thawed.isEmpty()) {
        warnings.add("unpaused " + thawed + ", left paused by an earlier backup that did not finish");
      }
      // The entry list and the etcd snapshot (every Kubernetes secret, in clear) never go to the
      // backup directory, which other hosts may write: a private directory on this machine.
      SpoolDirectory spool = SpoolDirectory.create(config.spoolDir());
      opened.spool = spool;
      ContainerEngine docker = plan.docker();
      Freezer freezer = Freezer.enabled() ? new Freezer(docker, config.dockerHost(), spoolRoot, spool.dir(), true) : null;
      p.done(0, plan.summary(request.encrypted()));
      for (String w : warnings) {
        p.warning(w);
      }
      return write(request, plan, freezer, warnings, createdAt, p, opened);
    } catch (Throwable t) {
      BackupException failure = classify(t);
      progress.failed(failure.getMessage());
      throw failure;
    } finally {
      opened.close();
    }
  }

  /** The archive: every step into one pipeline, then the metadata entry; the result once it is in place. */
  private BackupResult write(BackupRequest request, BackupPlan plan, Freezer freezer, List<String> warnings,
      Instant createdAt, Progress p, RunResources opened) throws IOException {
    Path spool = opened.spool.dir();
    Pipeline.Destination destination = request.file() != null ? Pipeline.file(request.file(), request.id())
        : Pipeline.stream(request.stream());
    try (Pipeline pipeline = Pipeline.open(destination, fence, request.encrypted() ? request.passphrase() : null,
        request.file() == null ? "backup.tar" : request.file().getFileName().toString(), spool, request.id())) {
      ArchiveWriter archive = pipeline.archive();
      List<String> volumeWarnings = new ArrayList<>();
      VolumeSources sources = VolumeSources.open(plan, freezer, config, request.id(), volumeWarnings::add, opened);
      VolumeCopy copy = new VolumeCopy(config, plan.docker(), freezer, spool, archive, p, volumeWarnings);
      List<ArchiveMetadata.Volume> volumes = new ArrayList<>();
      for (VolumeInfo v : plan.volumes().plain()) {
        volumes.add(copy.copy(Step.VOLUME, v, sources.of(v)));
      }
      ArchiveMetadata.Etcd etcd = plan.etcd() == null ? null
          : new EtcdSnapshotStep(plan.etcd(), plan.etcdStatus()).write(archive, p, spool);
      if (plan.volumes().authStore().isPresent()) {
        VolumeInfo v = plan.volumes().authStore().get();
        volumes.add(copy.copy(Step.AUTH_STORE, v, sources.of(v)));
      }
      p.started(Step.FINALIZE, "", "recording container configurations and the metadata");
      List<String> containers = new ContainerConfigs(plan.docker(), config.volumePrefix()).write(archive);
      warnings.addAll(archive.warnings());
      ArchiveMetadata metadata = new ArchiveMetadata(ProductInfo.FORMAT_VERSION, ProductInfo.NAME,
          ProductInfo.version(), request.id(), config.nodeName(), createdAt.toString(), request.encrypted(),
          plan.dockerVersion(), volumes, config.excludedVolumes().stream().sorted().toList(), etcd, etcd == null,
          containers, List.copyOf(warnings), null);
      long archiveBytes = pipeline.finish(metadata, EntryInfo.rootOwned(0600, Instant.now()), request.keepMetadata());
      Instant completedAt = Instant.now();
      p.done(containers.size(), "archive complete: " + archive.entries() + " entries, "
          + ProgressFormat.bytes(archiveBytes) + (request.file() == null ? "" : " in " + request.file()));
      BackupResult result = new BackupResult(request.id(), request.file(), request.logFile(), archiveBytes,
          archive.entries(), archive.files(), archive.bytes(), createdAt, completedAt, List.copyOf(warnings),
          frozenSeconds(volumes));
      p.succeeded("backup " + request.id() + " succeeded in "
          + java.time.Duration.between(createdAt, completedAt).toMillis() / 1000.0 + " s");
      if (opened.log != null) {
        fence.check();
        opened.log.commit();
      }
      return result;
    }
  }

  /** Each paused volume's freeze, for the run's metrics. */
  private static Map<String, Double> frozenSeconds(List<ArchiveMetadata.Volume> volumes) {
    Map<String, Double> frozenSeconds = new LinkedHashMap<>();
    for (ArchiveMetadata.Volume v : volumes) {
      if (v.frozenSeconds() != null) {
        frozenSeconds.put(v.name(), v.frozenSeconds());
      }
    }
    return frozenSeconds;
  }

  static long sizeOnDisk(Path root) {
    long[] total = {0};
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
          total[0] += attrs.size();
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException exc) {
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      return total[0];
    }
    return total[0];
  }

  /** One short error for the record and the CLI; never a raw stack trace or a secret. */
  static BackupException classify(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof BackupException be) {
        return be;
      }
      if (c == c.getCause()) {
        break;
      }
    }
    if (t instanceof InterruptedException || t instanceof java.io.InterruptedIOException) {
      return new BackupException(ErrorCode.INTERNAL, "the backup was interrupted", t);
    }
    return new BackupException(ErrorCode.INTERNAL, "the backup failed: " + t.getClass().getSimpleName()
        + (t.getMessage() == null ? "" : ": " + t.getMessage()), t);
  }
}
