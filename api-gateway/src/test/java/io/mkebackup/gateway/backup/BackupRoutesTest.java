package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
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

  @Test
  void aWorkersRefusalIsReadByTheCodesNameWhateverItsFailureCode() {
    String body = new JsonObject().put("code", "BACKUP_RUNNING").put("field", "")
        .put("message", "another backup is running: 7c0e on node-b").encode();
    for (int failureCode : new int[] {1, ErrorCode.BACKUP_RUNNING.ordinal(), 99}) {
      BackupException e = BackupRoutes.fromBus(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, failureCode, body));
      assertThat(e.code()).isEqualTo(ErrorCode.BACKUP_RUNNING);
      assertThat(e.getMessage()).isEqualTo("another backup is running: 7c0e on node-b");
    }
  }

  /** A newer member's code: INTERNAL, naming it, instead of quoting the raw JSON. */
  @Test
  void aWorkersCodeThisManagerDoesNotKnowIsNamed() {
    BackupException e = BackupRoutes.fromBus(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 40,
        new JsonObject().put("code", "QUOTA_EXCEEDED").put("field", "").put("message", "quota used up").encode()));
    assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
    assertThat(e.getMessage()).contains("QUOTA_EXCEEDED", "quota used up").doesNotContain("{");
  }
}
