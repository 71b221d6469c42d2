package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.schemas.CtrFeatureRow;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Turns each user's windowed {@link CtrCounts} (from {@link CtrPerUser}) into a {@link CtrFeatureRow}: the window
 * bounds, the pane that produced it, and {@code updated_at} from a {@link ProcessingClock}.
 */
public final class FormatCtrRows
    extends PTransform<PCollection<KV<String, CtrCounts>>, PCollection<CtrFeatureRow>> {
  private final ProcessingClock clock;

  private FormatCtrRows(ProcessingClock clock) {
    this.clock = clock;
  }

  public static FormatCtrRows withClock(ProcessingClock clock) {
    return new FormatCtrRows(requireNonNull(clock, "clock"));
  }

  /** A row's values in {@code FeatureTables.CTR_5MIN} column order, for {@link WriteToOnlineStore}. */
  public static Object[] toOnlineRow(CtrFeatureRow row) {
    return new Object[] {
      row.getUserId(),
      row.getWindowStart(),
      row.getWindowEnd(),
      row.getImpressions(),
      row.getClicks(),
      row.getCtr(),
      row.getUpdatedAt()
    };
  }

  /**
   * Batch runners (Flink's batch mode among them) fire each window exactly once over complete input and leave the
   * timing UNKNOWN; that single firing is the on-time result, and saying so keeps rows identical across runners.
   */
  static PaneInfo.Timing timing(PaneInfo pane) {
    if (pane.getTiming() == PaneInfo.Timing.UNKNOWN && pane.isFirst() && pane.isLast()) {
      return PaneInfo.Timing.ON_TIME;
    }
    return pane.getTiming();
  }

  @Override
  public PCollection<CtrFeatureRow> expand(PCollection<KV<String, CtrCounts>> counts) {
    return counts
        .apply("AttachWindowAndPane", ParDo.of(new ToRowFn(clock)))
        .setCoder(AvroCoder.of(CtrFeatureRow.class));
  }

  private static final class ToRowFn extends DoFn<KV<String, CtrCounts>, CtrFeatureRow> {
    private final ProcessingClock clock;

    ToRowFn(ProcessingClock clock) {
      this.clock = clock;
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, CtrCounts> userCounts,
        IntervalWindow window,
        PaneInfo pane,
        OutputReceiver<CtrFeatureRow> out) {
      CtrCounts counts = userCounts.getValue();
      out.output(
          CtrFeatureRow.newBuilder()
              .setUserId(userCounts.getKey())
              .setWindowStart(window.start().getMillis())
              .setWindowEnd(window.end().getMillis())
              .setImpressions(counts.impressions())
              .setClicks(counts.clicks())
              .setCtr(counts.ctr())
              .setPaneTiming(timing(pane).name())
              .setPaneIndex(pane.getIndex())
              .setUpdatedAt(clock.nowMillis())
              .build());
    }
  }
}
