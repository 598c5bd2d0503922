package io.mkebackup.common.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BusErrorsTest {
  @ParameterizedTest
  @EnumSource(ErrorCode.class)
  void everyCodeTravelsByName(ErrorCode code) {
    BackupException sent = new BackupException(code, "hostPath", "hostPath: something about it", null);
    String body = BusErrors.encode(sent);
    assertThat(new JsonObject(body).getString("code")).isEqualTo(code.name());
    BackupException got = BusErrors.decode(body);
    assertThat(got.code()).isEqualTo(code);
    assertThat(got.field()).isEqualTo("hostPath");
    assertThat(got.getMessage()).isEqualTo("hostPath: something about it");
  }

  @Test
  void aCodeThisMemberDoesNotKnowIsInternalAndNamesIt() {
    BackupException got = BusErrors.decode(new JsonObject().put("code", "QUOTA_EXCEEDED").put("field", "")
        .put("message", "the share's quota is used up").encode());
    assertThat(got.code()).isEqualTo(ErrorCode.INTERNAL);
    assertThat(got.field()).isNull();
    assertThat(got.getMessage()).contains("QUOTA_EXCEEDED").contains("the share's quota is used up")
        .doesNotContain("{");
  }

  @Test
  void whatIsNotOurJsonIsInternalAndCutShort() {
    BackupException got = BusErrors.decode("boom\n" + "x".repeat(5000));
    assertThat(got.code()).isEqualTo(ErrorCode.INTERNAL);
    assertThat(got.getMessage()).startsWith("the backup worker failed: boom\\x0A").hasSizeLessThan(1100);
    assertThat(BusErrors.decode("{\"code\": 7, \"message\": [1]}").code()).isEqualTo(ErrorCode.INTERNAL);
  }
}
