package io.mkebackup.common.archive;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.io.FileNames;
import java.util.regex.Pattern;

/**
 * What an entry name of a backup archive may be, and which link targets stay inside their volume.
 * An archive may have been written by anyone who can write to the backup share, so restore
 * trusts a name only once it has passed these rules.
 */
public final class ArchiveNames {
  /** A volume as the archive names it (without the engine's prefix): MKE's own, {@code ucp-*}. */
  private static final Pattern VOLUME = Pattern.compile("ucp-[A-Za-z0-9][A-Za-z0-9_.-]*");
  private static final Pattern DIGITS = Pattern.compile("[0-9]{1,19}");

  private ArchiveNames() {}

  /**
   * A parsed entry name.
   *
   * @param volume the volume the entry belongs to, or null for a container configuration
   * @param path the path inside the volume, "" for the volume's root directory
   */
  public record Name(String volume, String path) {
    /** The archive name without a trailing slash: directories and files share one namespace. */
    public String key() {
      return volume == null ? "./" + path : path.isEmpty() ? "./" + volume : "./" + volume + "/" + path;
    }

    /** The key of the directory holding this entry; null for a volume root or a configuration. */
    public String parentKey() {
      if (volume == null || path.isEmpty()) {
        return null;
      }
      int slash = path.lastIndexOf('/');
      return slash < 0 ? "./" + volume : "./" + volume + "/" + path.substring(0, slash);
    }
  }

  /**
   * Parses a tar entry name other than the metadata entry; refuses what no backup holds: names
   * outside {@code ./}, empty, {@code .} or {@code ..} elements, volumes not named {@code ucp-*},
   * {@code ucp-kv} files (etcd travels as a snapshot), and anything under {@code ucp-backup} but the
   * snapshot and its directories.
   */
  public static Name parse(String entry, boolean directory) {
    if (!entry.startsWith("./")) {
      throw refused(entry, "is not under ./");
    }
    String rest = entry.substring(2);
    if (directory && rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    String[] parts = rest.split("/", -1);
    for (String p : parts) {
      if (p.isEmpty() || p.equals(".") || p.equals("..") || p.indexOf('\0') >= 0) {
        throw refused(entry, "has an empty, '.' or '..' element");
      }
    }
    String first = parts[0];
    if (parts.length == 1 && !directory) {
      if (first.endsWith(".json") && VOLUME.matcher(first.substring(0, first.length() - 5)).matches()) {
        return new Name(null, first);
      }
      throw refused(entry, "is neither a volume's entry nor a ucp-* container configuration");
    }
    if (!VOLUME.matcher(first).matches()) {
      throw refused(entry, "belongs to volume '" + first + "', which is not an MKE volume (ucp-*)");
    }
    String path = parts.length == 1 ? "" : rest.substring(first.length() + 1);
    if (first.equals(ArchiveLayout.ETCD_VOLUME)) {
      throw refused(entry, "is a file of " + ArchiveLayout.ETCD_VOLUME + ", which a backup holds only as an etcd snapshot");
    }
    if (first.equals(ArchiveLayout.SNAPSHOT_VOLUME)) {
      boolean snapshotDir = directory && (parts.length == 1 || parts.length == 2 && DIGITS.matcher(parts[1]).matches());
      boolean snapshot = !directory && parts.length == 3 && DIGITS.matcher(parts[1]).matches()
          && parts[2].equals(ArchiveLayout.SNAPSHOT_FILE);
      if (!snapshotDir && !snapshot) {
        throw refused(entry, "is in " + ArchiveLayout.SNAPSHOT_VOLUME + ", which holds only the etcd snapshot");
      }
    }
    return new Name(first, path);
  }

  /**
   * Why a symbolic link at {@code path} (inside its volume) pointing to {@code target} would lead
   * out of the volume, or null when it stays inside: absolute targets and ones whose {@code ..}
   * climb above the volume's root are refused.
   */
  public static String linkProblem(String path, String target) {
    if (target.isEmpty()) {
      return "has an empty target";
    }
    if (target.startsWith("/")) {
      return "points to the absolute path " + FileNames.printable(target);
    }
    if (target.indexOf('\0') >= 0) {
      return "has a target holding a NUL byte";
    }
    int depth = 0;
    for (int i = 0; i < path.length(); i++) {
      if (path.charAt(i) == '/') {
        depth++;
      }
    }
    for (String element : target.split("/")) {
      if (element.isEmpty() || element.equals(".")) {
        continue;
      }
      depth += element.equals("..") ? -1 : 1;
      if (depth < 0) {
        return "points to " + FileNames.printable(target) + ", which leaves the volume";
      }
    }
    return null;
  }

  /** The error that refuses an archive for one of its entries, naming it printably. */
  public static BackupException refused(String entry, String why) {
    return new BackupException(ErrorCode.ARCHIVE_CORRUPT, "refusing the archive: entry " + FileNames.printable(entry)
        + " " + why);
  }
}
