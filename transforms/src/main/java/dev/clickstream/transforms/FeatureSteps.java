package dev.clickstream.transforms;

import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/** What the transforms over {@link FeatureEvent}s share: keying, lateness checks and step names. */
final class FeatureSteps {
  private FeatureSteps() {}

  /** Keys each event by its entity: the first step of every per-entity aggregation. */
  static PTransform<PCollection<FeatureEvent>, PCollection<KV<String, FeatureEvent>>> keyByEntity() {
    return new PTransform<PCollection<FeatureEvent>, PCollection<KV<String, FeatureEvent>>>() {
      @Override
      public PCollection<KV<String, FeatureEvent>> expand(PCollection<FeatureEvent> events) {
        return events
            .apply(
                MapElements.into(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptor.of(FeatureEvent.class)))
                    .via((FeatureEvent event) -> KV.of(event.entity(), event)))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), FeatureEvent.Coder.of()));
      }
    };
  }

  /** {@code lateness}, when it is zero or positive. */
  static Duration checkAllowedLateness(Duration lateness) {
    if (lateness == null || lateness.isShorterThan(Duration.ZERO)) {
      throw new IllegalArgumentException("allowedLateness must be zero or positive, got " + lateness);
    }
    return lateness;
  }

  /** {@code click_counts} as {@code ClickCounts}, for step names. */
  static String camelCase(String name) {
    StringBuilder out = new StringBuilder();
    for (String part : name.split("_")) {
      if (!part.isEmpty()) {
        out.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
      }
    }
    return out.toString();
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
}
