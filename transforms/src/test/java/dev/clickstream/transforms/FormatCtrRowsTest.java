package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.schemas.CtrFeatureRow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.PaneInfo.Timing;
import org.junit.jupiter.api.Test;

class FormatCtrRowsTest {

  @Test
  void theOnlyFiringOfABatchRunnerIsOnTime() {
    assertThat(FormatCtrRows.timing(PaneInfo.NO_FIRING), equalTo(Timing.ON_TIME));
    assertThat(FormatCtrRows.timing(PaneInfo.ON_TIME_AND_ONLY_FIRING), equalTo(Timing.ON_TIME));
  }

  @Test
  void streamingPanesKeepTheirTiming() {
    assertThat(FormatCtrRows.timing(PaneInfo.createPane(true, false, Timing.EARLY)), equalTo(Timing.EARLY));
    assertThat(FormatCtrRows.timing(PaneInfo.createPane(false, false, Timing.LATE, 2, 1)), equalTo(Timing.LATE));
    assertThat(
        FormatCtrRows.timing(PaneInfo.createPane(false, false, Timing.UNKNOWN, 3, 3)), equalTo(Timing.UNKNOWN));
  }

  @Test
  void onlineRowsFollowTheTableColumnOrder() {
    CtrFeatureRow row =
        CtrFeatureRow.newBuilder()
            .setUserId("u1")
            .setWindowStart(300_000L)
            .setWindowEnd(600_000L)
            .setImpressions(4)
            .setClicks(1)
            .setCtr(0.25)
            .setPaneTiming("ON_TIME")
            .setPaneIndex(0)
            .setUpdatedAt(9L)
            .build();
    assertThat(FormatCtrRows.toOnlineRow(row), equalTo(new Object[] {"u1", 300_000L, 600_000L, 4L, 1L, 0.25, 9L}));
  }
}
