package io.mkebackup.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RestoreEngineTest {
  @Test
  void versionsCompareByMajorMinor() {
    assertThat(RestoreEngine.majorMinor("3.7.0-SNAPSHOT")).isEqualTo("3.7");
    assertThat(RestoreEngine.majorMinor("3.7.12")).isEqualTo(RestoreEngine.majorMinor("3.7.0"));
    assertThat(RestoreEngine.majorMinor("3.6.4")).isNotEqualTo(RestoreEngine.majorMinor("3.7.0"));
    assertThat(RestoreEngine.majorMinor("4.7.0")).isNotEqualTo(RestoreEngine.majorMinor("3.7.0"));
  }

  @Test
  void entriesCannotEscapeTheirVolume() {
    Path mount = Path.of("/var/lib/docker/volumes/v/_data");
    assertThat(RestoreEngine.inside(mount, "a/b.txt")).isEqualTo(mount.resolve("a/b.txt"));
    assertThatThrownBy(() -> RestoreEngine.inside(mount, "../../other/_data/x")).isInstanceOf(BackupException.class)
        .hasMessageContaining("outside its volume");
    assertThatThrownBy(() -> RestoreEngine.inside(mount, "a/../../x")).isInstanceOf(BackupException.class);
  }
}
