package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackupRoutesTest {
  @Test
  void ignoredFieldsFitAQuotedWarningHeader() {
    String text = BackupRoutes.ignoredFields(List.of("foo", "say \"hi\"", "back\\slash", "new\r\nline", "café"));
    assertThat(text).isEqualTo("ignored unknown fields: foo, say \\\"hi\\\", back\\\\slash, new??line, caf?");
    assertThat(text.chars()).allMatch(c -> c >= 0x20 && c < 0x7f);
  }

  @Test
  void aLongListOfIgnoredFieldsIsCutShort() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      keys.add("k" + i + "x".repeat(100));
    }
    String text = BackupRoutes.ignoredFields(keys);
    assertThat(text).endsWith(" and 5 more").hasSizeLessThan(25 * 70);
    assertThat(text).contains("k0" + "x".repeat(59) + "...");
  }
}
