package io.mkebackup.common.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ArchiveNamesTest {
  @ParameterizedTest
  @CsvSource({
      "./ucp-v/, true, ucp-v, ''",
      "./ucp-v/a/b, false, ucp-v, a/b",
      "./ucp-v/a/b/, true, ucp-v, a/b",
      "./ucp-controller.json, false, , ucp-controller.json",
      "./ucp-backup/, true, ucp-backup, ''",
      "./ucp-backup/1700000000000/, true, ucp-backup, 1700000000000",
      "./ucp-backup/1700000000000/etcd.backup.db, false, ucp-backup, 1700000000000/etcd.backup.db"})
  void namesOfTheLayoutParse(String entry, boolean directory, String volume, String path) {
    assertThat(ArchiveNames.parse(entry, directory)).isEqualTo(new ArchiveNames.Name(volume, path));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/etc/passwd | false | is not under ./",
      "ucp-v/a | false | is not under ./",
      "./ucp-v/../../etc/x | false | '..'",
      "./ucp-v/a/./b | false | '.'",
      "./ucp-v//a | false | empty",
      "./ | true | empty",
      "./evil/x | false | not an MKE volume (ucp-*)",
      "./Ucp-v/x | false | not an MKE volume",
      "./ucp-/x | false | not an MKE volume",
      "./ucp-v | false | neither a volume's entry",
      "./x.json | false | neither a volume's entry",
      "./ucp-kv/member/snap/db | false | etcd snapshot",
      "./ucp-backup/x/etcd.backup.db | false | holds only the etcd snapshot",
      "./ucp-backup/1/other | false | holds only the etcd snapshot"})
  void namesOutsideTheLayoutAreRefused(String entry, boolean directory, String why) {
    assertThatThrownBy(() -> ArchiveNames.parse(entry, directory)).isInstanceOf(BackupException.class)
        .hasMessageContaining("refusing the archive").hasMessageContaining(why);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "link | x | ",
      "link | ./x/../y | ",
      "a/b/link | ../../c | ",
      "a/link | ../.. | leaves the volume",
      "link | .. | leaves the volume",
      "a/link | x/../../../y | leaves the volume",
      "link | /etc | absolute",
      "link | '' | empty"})
  void linksStayInsideTheirVolume(String path, String target, String problem) {
    String p = ArchiveNames.linkProblem(path, target == null ? "" : target);
    if (problem == null) {
      assertThat(p).isNull();
    } else {
      assertThat(p).contains(problem);
    }
  }
}
