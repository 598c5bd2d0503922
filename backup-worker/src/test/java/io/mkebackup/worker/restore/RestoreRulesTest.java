package io.mkebackup.worker.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.archive.ArchiveNames;
import org.junit.jupiter.api.Test;

/**
 * Two rules a restore applies before it writes anything, without running one: archives compare by
 * major.minor version, and an entry's name cannot leave its volume.
 */
class RestoreRulesTest {
  @Test
  void versionsCompareByMajorMinor() {
    assertThat(RestoreProcedure.majorMinor("3.7.0-SNAPSHOT")).isEqualTo("3.7");
    assertThat(RestoreProcedure.majorMinor("3.7.12")).isEqualTo(RestoreProcedure.majorMinor("3.7.0"));
    assertThat(RestoreProcedure.majorMinor("3.6.4")).isNotEqualTo(RestoreProcedure.majorMinor("3.7.0"));
    assertThat(RestoreProcedure.majorMinor("4.7.0")).isNotEqualTo(RestoreProcedure.majorMinor("3.7.0"));
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
