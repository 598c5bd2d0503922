package io.mkebackup.worker.engine;

import io.etcd.jetcd.api.StatusResponse;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.ProductInfo;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.io.Fence;
import io.mkebackup.common.io.Storage;
import io.mkebackup.common.progress.ProgressFormat;
import io.mkebackup.common.progress.ProgressListener;
import io.mkebackup.common.progress.Step;
import io.mkebackup.worker.engine.EngineConfig.SourceMode;
import io.mkebackup.worker.freeze.Freezer;
import io.mkebackup.worker.freeze.StagedCopy;
import io.mkebackup.worker.pipeline.ArchiveWriter.ByteCounter;
import io.mkebackup.worker.pipeline.ArchiveWriter;
import io.mkebackup.worker.pipeline.EntryInfo;
import io.mkebackup.worker.pipeline.Pipeline;
import io.mkebackup.worker.pipeline.SpoolDirectory;
import io.mkebackup.worker.source.ContainerEngine;
import io.mkebackup.worker.source.ContainerEngine.Mounter;
import io.mkebackup.worker.source.DiskVolumeSource;
import io.mkebackup.worker.source.DockerArchiveVolumeSource;
import io.mkebackup.worker.source.DockerEngine;
import io.mkebackup.worker.source.DockerEngine.VolumeInfo;
import io.mkebackup.worker.source.EtcdDiscovery;
import io.mkebackup.worker.source.EtcdEndpoint;
import io.mkebackup.worker.source.EtcdSnapshotSource;
import io.mkebackup.worker.source.EtcdSource;
import io.mkebackup.worker.source.VolumeSource;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Takes one backup of this manager: validation, each ucp-* volume, the etcd snapshot, the auth
 * store, then the container configurations and the metadata entry, streamed as one tar through
 * optional OpenPGP encryption into a file that appears only when complete (or to a stream).
 * Blocking: call it from a worker thread, never an event loop.
 */
public final class BackupEngine {
  /** Encryption adds a few bytes per MiB; tar adds a header per file. Leave room for both. */
  static final double SPACE_MARGIN = 1.05;

  private final EngineConfig config;
  private final Fence fence;
  private final Function<String, ContainerEngine> engines;
  private final Function<EngineConfig, EtcdSource> etcdSources;
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(BackupEngine.class.getName());

  public BackupEngine(EngineConfig config) {
    this(config, Fence.NONE);
  }

  /**
   * @param fence asked before every chunk the writer writes and before the archive and its log are
   *     renamed into place: a backup that lost the cluster's lock stops and leaves nothing behind
   */
  public BackupEngine(EngineConfig config, Fence fence) {
    this(config, fence, DockerEngine::connect);
  }

  /**
   * As {@link #BackupEngine(EngineConfig, Fence)}, with the container engine connected by
   * {@code engines} from the configured Docker host (a test's own engine, say).
   */
  public BackupEngine(EngineConfig config, Fence fence, Function<String, ContainerEngine> engines) {
    this(config, fence, engines, BackupEngine::connectEtcd);
  }

  /**
   * As {@link #BackupEngine(EngineConfig, Fence, Function)}, with etcd (when the configuration
   * names one) found and connected by {@code etcdSources}, on a thread of the run's own.
   */
  public BackupEngine(EngineConfig config, Fence fence, Function<String, ContainerEngine> engines,
      Function<EngineConfig, EtcdSource> etcdSources) {
    this.config = config;
    this.fence = fence;
    this.engines = engines;
    this.etcdSources = etcdSources;
  }

  /**
   * The real etcd of a configuration (which names one): found through ucp-kv when it says auto,
   * connected with jetcd. Readiness asks it too.
   */
  public static EtcdSource connectEtcd(EngineConfig config) {
    return EtcdSnapshotSource.connect(EtcdDiscovery.resolve(config.etcd(), config.dockerHost(), config.volumePrefix(),
        config.helperImage()));
  }

  public EngineConfig config() {
    return config;
  }

  public BackupResult run(BackupRequest request, ProgressListener listener) {
    Instant createdAt = Instant.now();
    List<String> warnings = new ArrayList<>();
    RunLog log = null;
    Progress progress = new Progress(request.id(), listener, config.maxBytesPerSecond());
    ContainerEngine docker = null;
    EtcdSource etcd = null;
    CompletableFuture<EtcdReady> etcdReady = null;
    String helperId = null;
    DockerArchiveVolumeSource helperSource = null;
    SpoolDirectory spool = null;
    try {
      if (request.logFile() != null) {
        log = new RunLog(request.logFile(), request.passphrase(), request.id());
        progress = new Progress(request.id(), listener.and(log), config.maxBytesPerSecond());
      }
      Progress p = progress;
      p.started(Step.VALIDATION, "", "checking the target, the Docker engine and etcd");
      Path targetDir = request.file() == null ? null : request.file().toAbsolutePath().getParent();
      if (targetDir != null) {
        Storage.checkWritableDirectory(targetDir, request.targetField());
      }
      // etcd is asked on another thread while the Docker engine answers: both are round trips. A
      // thread of its own, not the common pool, which other work (and waits) share. With
      // etcdEndpoint auto, finding ucp-kv (its container, address and certificates) is part of it.
      etcdReady = config.etcd() == null ? null : CompletableFuture.supplyAsync(() -> {
        EtcdSource source = etcdSources.apply(config);
        try {
          return new EtcdReady(source, source.status());
        } catch (RuntimeException e) {
          source.close();
          throw e;
        }
      }, r -> {
        Thread t = new Thread(r, "mke-backup-etcd-" + request.id());
        t.setDaemon(true);
        t.start();
      });
      docker = engines.apply(config.dockerHost());
      String dockerVersion = docker.version();
      List<VolumeInfo> volumes = docker.ucpVolumes(config.volumePrefix());
      if (volumes.isEmpty()) {
        throw new BackupException(ErrorCode.NO_MKE_STATE, "no " + config.volumePrefix()
            + "ucp-* volumes on the Docker engine at " + docker.host() + "; is this an MKE manager?");
      }

      StatusResponse etcdStatus = null;
      String etcdUrl = null;
      if (etcdReady != null) {
        EtcdReady ready = join(etcdReady, config.etcd());
        etcd = ready.source();
        etcdStatus = ready.status();
        etcdUrl = ready.source().url();
      } else if (find(volumes, ArchiveLayout.ETCD_VOLUME).isPresent()) {
        warnings.add("no etcd endpoint is configured, so ucp-kv (the Kubernetes and MKE key-value store) is NOT in this backup");
      }

      // Decided once per volume: the helper mounts and the copy must agree.
      Map<String, Boolean> diskChoices = new HashMap<>();
      Predicate<VolumeInfo> fromDisk = v -> diskChoices.computeIfAbsent(v.fullName(), n -> useDisk(v));
      VolumePlan plan = VolumePlan.of(volumes, config.excludedVolumes(), fromDisk, BackupEngine::sizeOnDisk);
      List<VolumeInfo> toCopy = plan.toCopy();
      long estimate = (etcdStatus == null ? 0 : etcdStatus.getDbSize()) + plan.diskBytes();
      p.estimate(estimate);

      String targetText;
      if (targetDir != null) {
        long free = Storage.freeBytes(targetDir);
        if (free < estimate * SPACE_MARGIN) {
          throw new BackupException(ErrorCode.TARGET_FULL, request.targetField(), request.targetField() + ": "
              + targetDir + " has " + ProgressFormat.bytes(free) + " free but the backup needs about "
              + ProgressFormat.bytes((long) (estimate * SPACE_MARGIN)) + "; free space or pick another directory", null);
        }
        targetText = request.file() + " (" + ProgressFormat.bytes(free) + " free)";
      } else {
        targetText = "standard output";
      }
      // What a backup of this tool that died left paused runs again before anything else.
      Path spoolRoot = SpoolDirectory.root(config.spoolDir());
      List<String> thawed = Freezer.recover(spoolRoot, docker);
      if (!thawed.isEmpty()) {
        warnings.add("unpaused " + thawed + ", left paused by an earlier backup that did not finish");
      }
      // The entry list and the etcd snapshot (every Kubernetes secret, in clear) never go to the
      // backup directory, which other hosts may write: a private directory on this machine.
      spool = SpoolDirectory.create(config.spoolDir());
      Freezer freezer = Freezer.enabled() ? new Freezer(docker, config.dockerHost(), spoolRoot, spool.dir(), true) : null;
      p.done(0, "ok: Docker " + dockerVersion + " at " + docker.host()
          + (etcdStatus == null ? "" : ", etcd " + etcdStatus.getVersion() + " at " + etcdUrl)
          + ", " + toCopy.size() + " volumes, about " + ProgressFormat.bytes(estimate) + " to write to " + targetText
          + (request.encrypted() ? ", encrypted (AES-256)" : ", NOT encrypted"));
      for (String w : warnings) {
        p.warning(w);
      }

      Pipeline.Sink sink = request.file() != null ? Pipeline.file(request.file(), request.id())
          : Pipeline.stream(request.stream());
      try (Pipeline pipeline = Pipeline.open(sink, fence, request.encrypted() ? request.passphrase() : null,
          request.file() == null ? "backup.tar" : request.file().getFileName().toString(), spool.dir(), request.id())) {
        ArchiveWriter archive = pipeline.archive();
        List<String> volumeWarnings = new ArrayList<>();
        VolumeSource disk = new DiskVolumeSource(volumeWarnings::add);
        if (plan.needHelper()) {
          // The first volumes read through the helper come in one response of the engine's; the
          // auth store, copied after etcd, in one of its own.
          // A volume a container writes is asked for apart, once its writers are paused: dockerd
          // reads a shared response ahead of the backup, before the pause.
          ContainerEngine engine = docker;
          List<VolumeInfo> together = plan.plain().stream().filter(fromDisk.negate())
              .filter(v -> freezer == null || engine.mounters(v.fullName()).stream().noneMatch(Mounter::readWrite))
              .toList();
          Map<String, String> labels = Map.of(DockerEngine.HELPER_LABEL, request.id());
          helperId = docker.createHelper(config.helperImage(),
              config.volumePrefix() + "mke-backup-helper-" + request.id(),
              toCopy.stream().map(VolumeInfo::fullName).toList(),
              toCopy.stream().filter(v -> !together.contains(v)).map(VolumeInfo::fullName).collect(Collectors.toSet()),
              labels);
          helperSource = new DockerArchiveVolumeSource(docker, helperId, together, config.helperImage(), labels,
              volumeWarnings::add);
        }

        List<ArchiveMetadata.Volume> volumeSummary = new ArrayList<>();
        for (VolumeInfo v : plan.plain()) {
          copyVolume(Step.VOLUME, v, fromDisk.test(v) ? disk : helperSource, archive, p, volumeSummary,
              volumeWarnings, docker, freezer, spool.dir());
        }

        ArchiveMetadata.Etcd etcdSummary = null;
        if (etcd != null) {
          p.started(Step.ETCD, ArchiveLayout.ETCD_VOLUME, "taking a snapshot from " + etcdUrl);
          Path snapshotSpool = spool.dir().resolve("etcd-snapshot.db");
          long size = etcd.snapshotTo(snapshotSpool);
          long at = System.currentTimeMillis();
          String entry = ArchiveLayout.snapshotEntry(at);
          EntryInfo dirInfo = EntryInfo.rootOwned(0700, Instant.ofEpochMilli(at));
          archive.directory("./" + ArchiveLayout.SNAPSHOT_VOLUME + "/", dirInfo);
          archive.directory("./" + ArchiveLayout.SNAPSHOT_VOLUME + "/" + at + "/", dirInfo);
          String sha;
          try (InputStream in = Files.newInputStream(snapshotSpool, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            sha = archive.file(entry, EntryInfo.rootOwned(0600, Instant.ofEpochMilli(at)), size, in, p);
          }
          Files.deleteIfExists(snapshotSpool);
          etcdSummary = new ArchiveMetadata.Etcd(etcdUrl, etcdStatus.getVersion(),
              etcdStatus.getHeader().getRevision(), entry, size, sha);
          p.done(1, "snapshot of " + ProgressFormat.bytes(size) + " at revision " + etcdStatus.getHeader().getRevision()
              + ", SHA-256 trailer checked");
        }

        if (plan.authStore().isPresent()) {
          VolumeInfo v = plan.authStore().get();
          copyVolume(Step.AUTH_STORE, v, fromDisk.test(v) ? disk : helperSource, archive, p, volumeSummary,
              volumeWarnings, docker, freezer, spool.dir());
        }

        p.started(Step.FINALIZE, "", "recording container configurations and the metadata");
        List<String> containers = new ArrayList<>();
        for (DockerEngine.ContainerConfig c : docker.ucpContainers(config.volumePrefix())) {
          archive.smallFile("./" + c.name() + ".json", EntryInfo.rootOwned(0600, Instant.now()), c.inspectJson());
          containers.add(c.name());
        }
        warnings.addAll(archive.warnings());
        ArchiveMetadata metadata = new ArchiveMetadata(ProductInfo.FORMAT_VERSION, ProductInfo.NAME,
            ProductInfo.version(), request.id(), config.nodeName(), createdAt.toString(), request.encrypted(),
            dockerVersion, volumeSummary, config.excludedVolumes().stream().sorted().toList(), etcdSummary,
            etcdSummary == null, containers, List.copyOf(warnings), null);
        long archiveBytes = pipeline.finish(metadata, EntryInfo.rootOwned(0600, Instant.now()), request.keepMetadata());
        Instant completedAt = Instant.now();
        p.done(containers.size(), "archive complete: " + archive.entries() + " entries, "
            + ProgressFormat.bytes(archiveBytes) + (request.file() == null ? "" : " in " + request.file()));
        Map<String, Double> frozenSeconds = new LinkedHashMap<>();
        for (ArchiveMetadata.Volume v : volumeSummary) {
          if (v.frozenSeconds() != null) {
            frozenSeconds.put(v.name(), v.frozenSeconds());
          }
        }
        BackupResult result = new BackupResult(request.id(), request.file(), request.logFile(), archiveBytes,
            archive.entries(), archive.files(), archive.bytes(), createdAt, completedAt, List.copyOf(warnings),
            frozenSeconds);
        p.succeeded("backup " + request.id() + " succeeded in "
            + java.time.Duration.between(createdAt, completedAt).toMillis() / 1000.0 + " s");
        if (log != null) {
          fence.check();
          log.commit();
        }
        return result;
      }
    } catch (Throwable t) {
      BackupException failure = classify(t);
      progress.failed(failure.getMessage());
      throw failure;
    } finally {
      if (log != null) {
        log.close();
      }
      if (spool != null) {
        spool.close();
      }
      if (helperSource != null) {
        helperSource.close(); // dockerd holds the helper until its response ends
      }
      if (helperId != null) {
        try {
          docker.removeContainer(helperId);
        } catch (RuntimeException ignored) {
          // a leftover helper is labelled and harmless (never started)
        }
      }
      if (etcd != null) {
        etcd.close();
      } else if (etcdReady != null) {
        // Validation failed before etcd was needed: close it whenever it answers.
        etcdReady.thenAccept(ready -> ready.source().close());
      }
      if (docker != null) {
        docker.close();
      }
    }
  }

  /**
   * Copies one volume; with {@code freezer}, the running containers that mount it read-write are
   * paused for the copy of this volume only (ucp-kv never comes here: etcd's snapshot API). Read
   * from disk, such a volume is first staged in the spool with its writers running, and only what
   * changed since is read while they are paused ({@link StagedCopy}); through the Docker API (one
   * tar of the whole volume, no way to ask for what changed) it is copied whole while paused.
   */
  private void copyVolume(Step step, VolumeInfo v, VolumeSource source, ArchiveWriter archive, Progress p,
      List<ArchiveMetadata.Volume> summary, List<String> warnings, ContainerEngine docker, Freezer freezer,
      Path spool) {
    p.started(step, v.name(), "copying volume " + v.name());
    warnings.clear();
    List<Mounter> mounters = freezer == null ? List.of() : docker.mounters(v.fullName());
    List<Mounter> writers = Freezer.writers(mounters);
    List<String> theirs = mounters.stream().filter(m -> m.readWrite() && m.paused()).map(Mounter::name).toList();
    VolumeSource.Copied copied = null;
    Freezer.Freeze freeze = null;
    StagedCopy staged = null;
    long frozenBytes = -1;
    try {
      if (!writers.isEmpty() && source instanceof DiskVolumeSource disk && Freezer.staged()) {
        long need = sizeOnDisk(v.mountpoint());
        need += need / 10 + (64L << 20);
        long free = Storage.freeBytes(spool);
        if (free >= need) {
          staged = new StagedCopy(disk, v, spool);
        } else {
          warnings.add("the spool " + spool.getParent() + " has " + ProgressFormat.bytes(free) + " free, less than the"
              + " " + ProgressFormat.bytes(need) + " needed to stage volume " + v.name() + " before pausing its"
              + " writers, so it was copied whole while they were paused (a longer freeze); free space there or"
              + " set spoolDir");
        }
      }
      ByteCounter counter = p;
      if (staged != null) {
        staged.preCopy();
      }
      if (!writers.isEmpty()) {
        freeze = freezer.freeze(writers, config.maxFreeze());
        Freezer.Freeze f = freeze;
        ByteCounter then = staged == null ? p : ByteCounter.NONE;
        // Past maxFreezeSeconds the timer thaws; the next chunk read stops the copy.
        counter = n -> {
          if (f.expired()) {
            throw tooLong(v, f);
          }
          then.add(n);
        };
      }
      if (staged != null) {
        // While frozen nothing is throttled or counted: the freeze is what users wait for, and
        // the bytes are counted when they go into the archive.
        staged.frozenPass(counter);
        frozenBytes = staged.frozenBytes();
      } else {
        copied = source.copy(v, archive, counter);
        frozenBytes = copied.bytes();
      }
      if (freeze != null) {
        freeze.close();
        if (freeze.expired() || freeze.seconds() > config.maxFreeze().toNanos() / 1e9) {
          throw tooLong(v, freeze);
        }
        // Said as soon as the writers run again (before the archive is written from the stage),
        // so the line's time is the end of the pause.
        double seconds = Math.round(freeze.seconds() * 1000) / 1000.0;
        String line = String.join(", ", freeze.containers()) + " paused "
            + String.format(java.util.Locale.ROOT, seconds < 1 ? "%.2f" : "%.1f", seconds) + " s"
            + (staged == null ? " (the whole volume was copied while paused)"
                : " (read " + ProgressFormat.bytes(frozenBytes) + " that changed since an unpaused copy of "
                    + ProgressFormat.bytes(staged.preCopiedBytes()) + ")");
        LOG.info(step.id() + " " + v.name() + ": " + line);
        p.frozen(line);
      }
      if (staged != null) {
        copied = staged.writeTo(archive, p, warnings::add);
      }
    } catch (IOException e) {
      if (e.getCause() instanceof BackupException be) {
        throw be;
      }
      throw new BackupException(ErrorCode.VOLUME_READ_FAILED, "reading volume " + v.name() + " failed: "
          + e.getMessage(), e);
    } finally {
      if (freeze != null) {
        freeze.close(); // on every path: thaws once, disarms the switch
      }
      if (staged != null) {
        try {
          staged.close();
        } catch (IOException e) {
          LOG.warning("cannot remove the stage of volume " + v.name() + " (" + e + "); the spool's sweep will");
        }
      }
    }
    for (String w : warnings) {
      p.warning(w);
    }
    ArchiveMetadata.Volume m = new ArchiveMetadata.Volume(v.name(), copied.files(), copied.bytes(), copied.via());
    if (freeze != null) {
      double seconds = Math.round(freeze.seconds() * 1000) / 1000.0;
      m = new ArchiveMetadata.Volume(v.name(), copied.files(), copied.bytes(), copied.via(), freeze.containers(),
          seconds, frozenBytes);
    } else if (!theirs.isEmpty()) {
      m = new ArchiveMetadata.Volume(v.name(), copied.files(), copied.bytes(), copied.via(), theirs, null, null);
      p.frozen(String.join(", ", theirs) + " already paused by someone else; copied as it is, left paused");
    }
    summary.add(m);
    p.done(copied.files(), copied.files() + " files, " + ProgressFormat.bytes(copied.bytes()) + " (via " + copied.via() + ")");
  }

  private BackupException tooLong(VolumeInfo v, Freezer.Freeze f) {
    return new BackupException(ErrorCode.FREEZE_TOO_LONG, "maxFreezeSeconds", "copying volume " + v.name() + " kept "
        + String.join(", ", f.containers()) + " paused for more than " + config.maxFreeze().toMillis() / 1000.0
        + " s (maxFreezeSeconds), so they were unpaused and the backup stopped; the older backup file is left in"
        + " place. Raise maxFreezeSeconds (--max-freeze) or make the volume smaller", null);
  }

  /** A connected etcd source and the status it answered with. */
  private record EtcdReady(EtcdSource source, StatusResponse status) {}

  /** The connection, waited for no longer than etcd's own timeout and a margin. */
  private static EtcdReady join(CompletableFuture<EtcdReady> f, EtcdEndpoint etcd) {
    long wait = (etcd.timeout() == null ? 10_000 : etcd.timeout().toMillis()) + 5_000;
    try {
      return f.get(wait, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new CompletionException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd at " + etcd.url() + " did not answer within "
          + wait / 1000 + " s; check that it runs and that this manager reaches it", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackupException(ErrorCode.INTERNAL, "the backup was interrupted", e);
    }
  }

  private boolean useDisk(VolumeInfo v) {
    return switch (config.sourceMode()) {
      case DISK -> true;
      case DOCKER -> false;
      case AUTO -> DiskVolumeSource.canRead(v);
    };
  }

  private static Optional<VolumeInfo> find(List<VolumeInfo> volumes, String name) {
    return volumes.stream().filter(v -> v.name().equals(name)).findFirst();
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
