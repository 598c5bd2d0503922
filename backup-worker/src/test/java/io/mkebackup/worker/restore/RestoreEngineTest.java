package io.mkebackup.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.archive.ArchiveNames;
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
    assertThat(ArchiveNames.parse("./ucp-v/a/b.txt", false)).isEqualTo(new ArchiveNames.Name("ucp-v", "a/b.txt"));
    assertThatThrownBy(() -> ArchiveNames.parse("./ucp-v/../../other/_data/x", false))
        .isInstanceOf(BackupException.class).hasMessageContaining("'..'");
    assertThatThrownBy(() -> ArchiveNames.parse("./ucp-v/a/../../x", false)).isInstanceOf(BackupException.class);
    assertThat(ArchiveNames.linkProblem("a/link", "../../x")).contains("leaves the volume");
  }
}
