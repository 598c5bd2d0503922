package io.mkebackup.worker.pipeline;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.Passphrase;
import io.mkebackup.common.archive.ArchiveLayout;
import io.mkebackup.common.archive.ArchiveMetadata;
import io.mkebackup.common.archive.ArchiveNames;
import io.mkebackup.common.archive.SnapshotHasher;
import io.mkebackup.common.io.FileNames;
import io.mkebackup.worker.pipeline.openpgp.PgpDecryption;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Proves a backup archive whole: decrypts it (integrity packet checked), reads every entry,
 * recomputes each file's SHA-256 against the metadata entry, checks the etcd snapshot's trailer,
 * the seed's rules (27 or more entries, the controller server key present) and the tar's end
 * blocks, which tell a complete stream from one cut short. It refuses what would let a restore
 * leave a volume or lie about it: names outside the layout ({@link ArchiveNames}), volumes not
 * named {@code ucp-*}, duplicate paths, entries that do not follow their directory (so none lies
 * beneath a symbolic link), links that leave their volume, hard links to anything but a regular
 * file of the same volume before them, devices, FIFOs and other special entries, entries the
 * metadata does not list and listed ones the tar lacks, and a missing etcd snapshot unless the
 * metadata records that etcd was left out.
 */
public final class ArchiveVerifier {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ArchiveVerifier() {}

  /**
   * @param passphrase null when the archive is expected to be plain
   * @param field the option naming the passphrase, for errors
   */
  public static VerifyReport verify(InputStream raw, Passphrase passphrase, String field) throws IOException {
    return verify(raw, passphrase, field, null);
  }

  /**
   * As {@link #verify(InputStream, Passphrase, String)}, handing every volume entry to {@code sink}
   * while reading, so the archive is read once and what is used is what was verified.
   *
   * @param sink null to only verify
   */
  public static VerifyReport verify(InputStream raw, Passphrase passphrase, String field, ArchiveSink sink)
      throws IOException {
    InputStream buffered = PgpDecryption.dearmored(new BufferedInputStream(raw, 1 << 16));
    boolean encrypted = PgpDecryption.isOpenPgp(buffered);
    if (!encrypted && passphrase != null) {
      // An unencrypted archive is not authenticated: whoever can write the file could have made
      // it. A passphrase says the user expects an authentic one, so this one is refused.
      throw new BackupException(ErrorCode.ARCHIVE_UNAUTHENTICATED, field, "the archive is not encrypted, so"
          + " nothing proves who wrote it, yet " + field + " was given: refusing it. If you made this archive"
          + " without a passphrase and trust the file, give --no-passphrase instead", null);
    }
    // Closed when done, so a decrypting thread stopped by a failure early in the archive ends too.
    try (TailTracker plain = new TailTracker(PgpDecryption.open(buffered, passphrase, field))) {
      try {
        return read(plain, encrypted, sink);
      } catch (IOException | RuntimeException e) {
        if (encrypted && readingFailed(e)) {
          throwIfTampered(plain, e);
        }
        throw e;
      }
    } catch (BackupException e) {
      throw e;
    } catch (IOException e) {
      String m = String.valueOf(e.getMessage());
      if (m.toLowerCase().contains("truncated") || e instanceof java.io.EOFException) {
        throw new BackupException(ErrorCode.ARCHIVE_INCOMPLETE,
            "the archive ends too early (" + m + "): it was cut short", e);
      }
      throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the archive cannot be read as a tar: " + m, e);
    }
  }

  /** A refusal of what was read (not a failure of the sink, such as a full disk). */
  private static boolean readingFailed(Exception e) {
    return e instanceof BackupException b ? b.code() == ErrorCode.ARCHIVE_CORRUPT
        || b.code() == ErrorCode.ARCHIVE_INCOMPLETE : e instanceof IOException || e instanceof IllegalArgumentException;
  }

  /**
   * In an encrypted archive, changed bytes decrypt to garbage that the tar reader usually trips
   * over before the integrity packet at the end is reached, so a refusal there most likely means
   * the file was damaged or tampered with: reads the rest (streamed, nothing kept) so that the
   * integrity check, when it fails, is what the user is told.
   */
  private static void throwIfTampered(InputStream plain, Exception refusal) throws IOException {
    byte[] skip = new byte[1 << 16];
    try {
      while (plain.read(skip) >= 0) {
        // the integrity packet is checked at the end of the stream
      }
    } catch (BackupException integrity) {
      if (integrity != refusal) {
        integrity.addSuppressed(refusal);
      }
      throw integrity;
    } catch (IOException | RuntimeException other) {
      if (other != refusal) {
        refusal.addSuppressed(other);
      }
    }
  }

  private static VerifyReport read(TailTracker plain, boolean encrypted, ArchiveSink sink) throws IOException {
    return new Reading(plain, encrypted, sink).read();
  }

  /** One pass over the tar: what was seen so far, checked entry by entry, then as a whole at the end. */
  private static final class Reading {
    private final TailTracker plain;
    private final boolean encrypted;
    private final ArchiveSink sink;
    private final TarArchiveInputStream tar;
    private final MessageDigest sha;
    private final Map<String, String> seen = new HashMap<>();
    // Every entry's kind by name without a trailing slash: d(irectory), f(ile), l(ink), h(ard link).
    private final Map<String, Character> kinds = new HashMap<>();
    private final TreeSet<String> volumes = new TreeSet<>();
    private final byte[] buffer = new byte[1 << 20];
    private final List<Map<String, Object>> mismatches = new ArrayList<>();
    private long entries;
    private long files;
    private long bytes;
    private String snapshotEntry;
    private String snapshotSha;
    private long snapshotBytes;
    private boolean required;
    private ArchiveMetadata header;

    Reading(TailTracker plain, boolean encrypted, ArchiveSink sink) {
      this.plain = plain;
      this.encrypted = encrypted;
      this.sink = sink;
      tar = new TarArchiveInputStream(plain, 10240, 512, FileNames.CHARSET_NAME, false);
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    VerifyReport read() throws IOException {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        String name = e.getName();
        if (header != null) {
          throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
              "entry " + FileNames.printable(name) + " follows the metadata entry, which must be last");
        }
        if (ArchiveLayout.METADATA_ENTRY.equals(name) && e.isFile()) {
          header = readMetadata(tar, seen, mismatches);
          continue;
        }
        entry(e);
      }
      // The rest of the stream: the tar's zero blocks; reading to the end also checks the MDC.
      plain.transferTo(OutputStream.nullOutputStream());
      checkWhole();
      return new VerifyReport(encrypted, entries, files, bytes, snapshotEntry, snapshotBytes, header,
          List.copyOf(volumes));
    }

    /** Its name, its place beneath its directory, and what it is; handed to the sink. */
    private void entry(TarArchiveEntry e) throws IOException {
      String name = e.getName();
      entries++;
      char kind = kind(e);
      ArchiveNames.Name n = ArchiveNames.parse(name, kind == 'd');
      String key = n.key();
      if (kinds.containsKey(key)) {
        throw ArchiveNames.refused(name, "appears twice");
      }
      String parent = n.parentKey();
      if (parent != null) {
        Character p = kinds.get(parent);
        if (p == null) {
          throw ArchiveNames.refused(name, "comes before (or without) its directory " + FileNames.printable(parent));
        }
        if (p != 'd') {
          throw ArchiveNames.refused(name, "lies beneath " + FileNames.printable(parent) + ", which is "
              + (p == 'l' ? "a symbolic link" : "not a directory"));
        }
      }
      kinds.put(key, kind);
      boolean snapshotVolume = ArchiveLayout.SNAPSHOT_VOLUME.equals(n.volume());
      if (n.volume() != null) {
        volumes.add(n.volume());
      }
      switch (kind) {
        case 'd' -> {
          seen.put(dirName(name), "dir");
          if (sink != null && !snapshotVolume) {
            sink.directory(n.volume(), n.path(), e);
          }
        }
        case 'h' -> hardlink(e, n);
        case 'l' -> symlink(e, n);
        default -> file(e, n, snapshotVolume);
      }
    }

    private void hardlink(TarArchiveEntry e, ArchiveNames.Name n) throws IOException {
      String name = e.getName();
      String link = e.getLinkName();
      ArchiveNames.Name target = hardlinkTarget(link);
      if (target == null || n.volume() == null || !n.volume().equals(target.volume())
          || !Character.valueOf('f').equals(kinds.get(target.key()))) {
        throw ArchiveNames.refused(name, "is a hard link to " + FileNames.printable(link)
            + ", which is not a regular file before it in the same volume");
      }
      seen.put(name, "hardlink:" + link);
      if (sink != null) {
        sink.hardlink(n.volume(), n.path(), target.path(), e);
      }
    }

    private void symlink(TarArchiveEntry e, ArchiveNames.Name n) throws IOException {
      String name = e.getName();
      if (n.volume() == null || n.path().isEmpty()) {
        throw ArchiveNames.refused(name, "is a symbolic link outside any volume");
      }
      String problem = ArchiveNames.linkProblem(n.path(), e.getLinkName());
      if (problem != null) {
        throw ArchiveNames.refused(name, "is a symbolic link that " + problem);
      }
      seen.put(name, "symlink:" + e.getLinkName());
      if (sink != null) {
        sink.symlink(n.volume(), n.path(), e.getLinkName(), e);
      }
    }

    /** A file's bytes: hashed, the etcd snapshot's trailer checked, handed to the sink as they come. */
    private void file(TarArchiveEntry e, ArchiveNames.Name n, boolean isSnapshot) throws IOException {
      String name = e.getName();
      files++;
      bytes += e.getSize();
      required |= ArchiveLayout.REQUIRED_ENTRY.equals(name);
      if (isSnapshot && snapshotEntry != null) {
        throw ArchiveNames.refused(name, "is a second etcd snapshot");
      }
      SnapshotHasher snapshot = isSnapshot ? new SnapshotHasher(e.getSize()) : null;
      OutputStream out = sink == null || n.volume() == null ? null
          : isSnapshot ? sink.snapshot(name, e.getSize()) : sink.file(n.volume(), n.path(), e);
      sha.reset();
      long got = 0;
      try {
        for (int r = tar.read(buffer); r >= 0; r = tar.read(buffer)) {
          sha.update(buffer, 0, r);
          if (snapshot != null) {
            snapshot.update(buffer, 0, r);
          }
          if (out != null) {
            out.write(buffer, 0, r);
          }
          got += r;
        }
      } finally {
        if (out != null) {
          out.close();
        }
      }
      if (got != e.getSize()) {
        throw new BackupException(ErrorCode.ARCHIVE_INCOMPLETE, "entry " + FileNames.printable(name) + " has "
            + got + " of its " + e.getSize() + " bytes: the archive was cut short");
      }
      String hex = HexFormat.of().formatHex(sha.digest());
      if (snapshot != null) {
        snapshot.check("etcd snapshot " + name);
        snapshotEntry = name;
        snapshotSha = hex;
        snapshotBytes = got;
      }
      seen.put(name, "file:" + e.getSize() + ":" + hex);
    }

    /** The archive as a whole: complete, listed entry for entry, a backup by the seed's rules, etcd as recorded. */
    private void checkWhole() {
      if (header == null) {
        throw new BackupException(ErrorCode.ARCHIVE_INCOMPLETE, "the archive has no metadata entry ("
            + ArchiveLayout.METADATA_ENTRY + "); it was cut short or is not an mke-backup archive");
      }
      if (!plain.endsWithTarEndBlocks()) {
        throw new BackupException(ErrorCode.ARCHIVE_INCOMPLETE,
            "the archive lacks the tar end-of-archive blocks: it was cut short");
      }
      if (!mismatches.isEmpty()) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, describe(mismatches));
      }
      if (!seen.isEmpty()) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the archive holds " + seen.size()
            + " entries its metadata does not list, for example " + FileNames.printable(seen.keySet().iterator().next()));
      }
      if (entries < ArchiveLayout.MIN_ENTRIES) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the archive lists " + entries
            + " entries; a valid MKE backup lists " + ArchiveLayout.MIN_ENTRIES + " or more");
      }
      if (!required) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT,
            "the archive lacks " + ArchiveLayout.REQUIRED_ENTRY + ", which a valid MKE backup holds");
      }
      checkEtcd(header, snapshotEntry, snapshotSha);
    }
  }

  private static ArchiveNames.Name hardlinkTarget(String link) {
    try {
      return ArchiveNames.parse(link, false);
    } catch (BackupException e) {
      return null;
    }
  }

  /** The kinds of entry a backup holds; anything else (devices, FIFOs, sparse files) is refused. */
  private static char kind(TarArchiveEntry e) {
    if (e.isDirectory()) {
      return 'd';
    }
    if (e.isSymbolicLink()) {
      return 'l';
    }
    if (e.isLink()) {
      return 'h';
    }
    if (e.isFile() && !e.isSparse() && !e.isCharacterDevice() && !e.isBlockDevice() && !e.isFIFO()) {
      return 'f';
    }
    String what = e.isCharacterDevice() ? "a character device" : e.isBlockDevice() ? "a block device"
        : e.isFIFO() ? "a FIFO" : e.isSparse() ? "a sparse file" : "a special entry (type " + (char) e.getLinkFlag() + ")";
    throw ArchiveNames.refused(e.getName(), "is " + what + ", which a backup never holds");
  }

  /** The snapshot must be the one the metadata records, or the metadata must say etcd was left out. */
  private static void checkEtcd(ArchiveMetadata metadata, String snapshotEntry, String snapshotSha) {
    ArchiveMetadata.Etcd etcd = metadata.etcd();
    if (snapshotEntry == null) {
      if (!metadata.etcdLeftOut()) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the archive holds no etcd snapshot, yet its metadata"
            + " does not record that etcd (ucp-kv) was left out: the snapshot was removed");
      }
      return;
    }
    if (etcd == null || !snapshotEntry.equals(etcd.entry()) || !snapshotSha.equals(etcd.sha256())) {
      throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the archive's etcd snapshot " + snapshotEntry
          + " is not the one its metadata records");
    }
  }

  private static String dirName(String name) {
    return name.endsWith("/") ? name : name + "/";
  }

  /** Streams the metadata, checking each listed entry against what the tar held (and removing it). */
  private static ArchiveMetadata readMetadata(InputStream in, Map<String, String> seen,
      List<Map<String, Object>> mismatches) throws IOException {
    try (JsonParser p = JSON.getFactory().createParser(new NonClosing(in))) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new BackupException(ErrorCode.ARCHIVE_CORRUPT, "the metadata entry is not a JSON object");
      }
      return ArchiveMetadata.read(p, entry -> {
        String path = String.valueOf(entry.path());
        String expected = switch (String.valueOf(entry.type())) {
          case "file" -> "file:" + entry.size() + ":" + entry.sha256();
          case "symlink" -> "symlink:" + entry.link();
          case "hardlink" -> "hardlink:" + entry.link();
          case "dir" -> "dir";
          default -> "other";
        };
        String actual = seen.remove(path);
        if (!expected.equals(actual)) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("path", path);
          m.put("expected", expected);
          m.put("actual", actual);
          mismatches.add(m);
        }
      });
    }
  }

  private static String describe(List<Map<String, Object>> mismatches) {
    Map<String, Object> first = mismatches.get(0);
    Object actual = first.get("actual");
    String what = actual == null ? "is missing from the archive"
        : "differs from what the metadata recorded (content changed after the backup was written)";
    return mismatches.size() + " entr" + (mismatches.size() == 1 ? "y " : "ies ") + "failed the check; "
        + FileNames.printable(String.valueOf(first.get("path"))) + " " + what;
  }

  /** Keeps Jackson from closing the tar stream under it. */
  private static final class NonClosing extends FilterInputStream {
    NonClosing(InputStream in) {
      super(in);
    }

    @Override
    public void close() {}
  }

  /** Counts bytes and remembers where the last non-zero byte was, to find the end blocks. */
  static final class TailTracker extends FilterInputStream {
    private long position;
    private long lastNonZero = -1;

    TailTracker(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b > 0) {
        lastNonZero = position;
      }
      if (b >= 0) {
        position++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        for (int i = off + n - 1; i >= off; i--) {
          if (b[i] != 0) {
            lastNonZero = position + (i - off);
            break;
          }
        }
        position += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      // Skipped bytes are not inspected: read them instead so the tail stays known.
      byte[] scratch = new byte[(int) Math.min(n, 8192)];
      int r = read(scratch, 0, scratch.length);
      return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
      return false;
    }

    /** True when the stream is whole records and two zero records follow the last data record. */
    boolean endsWithTarEndBlocks() {
      long lastDataRecordEnd = (lastNonZero / 512 + 1) * 512;
      return position % 512 == 0 && position - lastDataRecordEnd >= 1024;
    }
  }
}
