package io.mkebackup.common.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mkebackup.common.BackupException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CadenceTest {
  @Test
  void anEveryShorterThanTheMinimumIsRefusedNamingTheField() {
    assertThatThrownBy(() -> Cadence.parse("@every 59s", "cron", Duration.ofMinutes(1)))
        .isInstanceOf(BackupException.class)
        .hasMessageContaining("cron: @every 59s is shorter than the minimum of 1m")
        .satisfies(e -> assertThat(((BackupException) e).field()).isEqualTo("cron"));
    assertThat(Cadence.parse("@every 1m", "cron", Duration.ofMinutes(1))).isEqualTo(new Cadence.Every(Duration.ofMinutes(1)));
    assertThat(Cadence.parse("* * * * *", "cron", Duration.ofMinutes(1))).isInstanceOf(Cadence.Cron.class);
    assertThat(Cadence.parse("@every 2s", "cron", Duration.ofSeconds(1))).isEqualTo(new Cadence.Every(Duration.ofSeconds(2)));
  }
}
