package io.mkebackup.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * For tests that prove O_DIRECT: they require it rather than follow the code's own rule. The
 * temporary directory must be on a local block-device file system (ext4 on every machine this
 * project builds on) and the environment must not turn direct I/O off.
 */
public final class DirectIoRequired {
  private DirectIoRequired() {}

  public static void in(Path dir) throws IOException {
    assertThat(System.getenv("MKE_BACKUP_DIRECT_IO")).as("MKE_BACKUP_DIRECT_IO=off leaves O_DIRECT untested")
        .isNotEqualToIgnoringCase("off");
    assertThat(Files.getFileStore(dir).type()).as("the temporary directory " + dir + " must be on a local"
        + " block-device file system for O_DIRECT to be tested (set java.io.tmpdir)")
        .isIn("ext2", "ext3", "ext4", "xfs", "btrfs");
  }
}
