package io.mkebackup.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Memory does not grow with backup size: several GiB through a JVM limited to 128 MiB of heap. */
@Tag("integration")
@Tag("alone")
class LargeVolumeIT {
  static final String SECRET = "large volume passphrase";
  /** Each of the two data volumes grows to this, so about 3 GiB in all. */
  static final long MIB_PER_VOLUME = 1536;
  static DemoFixture demo;

  @BeforeAll
  static void up() throws IOException {
    demo = DemoFixture.create(50, MIB_PER_VOLUME);
  }

  @AfterAll
  static void down() throws IOException {
    demo.close();
  }

  @Test
  void severalGibBackUpAndVerifyInA128MibHeap(@TempDir Path dir) throws Exception {
    Path archive = dir.resolve("large.tar");
    List<String> args = new ArrayList<>(List.of("backup"));
    args.addAll(demo.cliOptions());
    args.addAll(List.of("--passphrase", SECRET, "--file", archive.toString()));
    long t0 = System.nanoTime();
    Cli.Result r = Cli.run(List.of("-Xmx128m"), args, null, dir.resolve("out"));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertThat(r.exit()).as(r.stderr()).isZero();
    long size = Files.size(archive);
    // The data volumes hold at least 2 x 1.5 GiB between them (their demo files count towards it).
    assertThat(size).isGreaterThan((2 * MIB_PER_VOLUME << 20) - (16 << 20));
    System.out.printf("LargeVolumeIT: %.2f GiB archive in %.1f s (%.0f MB/s, -Xmx128m, encrypted)%n",
        size / (double) (1L << 30), seconds, size / seconds / 1e6);

    t0 = System.nanoTime();
    Cli.Result v = Cli.run(List.of("-Xmx128m"), List.of("verify", archive.toString(), "--passphrase", SECRET), null,
        dir.resolve("verify.txt"));
    System.out.printf("LargeVolumeIT: verify in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    assertThat(v.exit()).as(v.stderr()).isZero();
    assertThat(v.out()).startsWith("OK ");
  }
}
