package io.mkebackup.deploy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.worker.source.SelfContainer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InContainerTest {
  static SelfContainer container(SelfContainer.Mount... mounts) {
    return new SelfContainer("f".repeat(64), "ucp", List.of(mounts), Map.of(), Map.of(), true, false);
  }

  @Test
  void aPlainFileNameGoesIntoTheBackupMount() {
    SelfContainer self = container(new SelfContainer.Mount("/backup", "bind", null, "/srv/backups"));
    assertThat(InContainer.target(Path.of("mybackup.tar"), self)).isEqualTo(Path.of("/backup/mybackup.tar"));
    assertThat(InContainer.target(Path.of("sub/../b.tar"), self)).isEqualTo(Path.of("/backup/b.tar"));
  }

  @Test
  void anAbsoluteFileIsHonouredOnAnyMount() {
    SelfContainer self = container(new SelfContainer.Mount("/backup", "bind", null, "/srv/backups"),
        new SelfContainer.Mount("/srv/nfs", "volume", "nfs-backups", "/var/lib/docker/volumes/nfs-backups/_data"));
    assertThat(InContainer.target(Path.of("/srv/nfs/x/b.tar"), self)).isEqualTo(Path.of("/srv/nfs/x/b.tar"));
  }

  @Test
  void aFileThatWouldVanishWithTheContainerIsRefused() {
    SelfContainer noMount = container(new SelfContainer.Mount("/var/run/docker.sock", "bind", null,
        "/var/run/docker.sock"));
    assertThatThrownBy(() -> InContainer.target(Path.of("mybackup.tar"), noMount))
        .isInstanceOfSatisfying(BackupException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_FIELD);
          assertThat(e.field()).isEqualTo("--file");
          assertThat(e.getMessage()).contains("/backup is not on a volume mounted into this container (ucp)")
              .contains("--volume /path/on/host:/backup");
        });
    SelfContainer tmpfs = container(new SelfContainer.Mount("/backup", "tmpfs", null, null));
    assertThatThrownBy(() -> InContainer.target(Path.of("b.tar"), tmpfs)).hasMessageContaining("tmpfs");
    SelfContainer anonymous = container(new SelfContainer.Mount("/var/lib/mke-backup", "volume", "a".repeat(64),
        "/var/lib/docker/volumes/" + "a".repeat(64) + "/_data"));
    assertThatThrownBy(() -> InContainer.target(Path.of("/var/lib/mke-backup/b.tar"), anonymous))
        .hasMessageContaining("anonymous volume that --rm removes");
  }
}
