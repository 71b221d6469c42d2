package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Issue 16, item 17: a run whose input was mostly too late says so, with the options that would keep it. */
class LateWarningTest {
  @Test
  void aShuffledReplayThatIsMostlyLateIsWarnedAbout() {
    // The audit's replay: 20,200 records, 19,925 of them dead-lettered late as they were read from Kafka.
    Map<String, Long> counters = Map.of(
        "ParseEvents/events_parsed", 275L,
        "EventTime/events_too_late", 19_925L,
        "RollingAggregate/events_too_late", 3L);

    assertThat(RunCommand.lateWarning(counters, true), is(Optional.of(
        "WARNING: 98.6% of the 20,200 events read came too late to count (EventTime/events_too_late 19,925); they"
            + " are in the dead letters with reason late. If the input is this much out of order, run again with a"
            + " larger --maxOutOfOrderness (how far behind a partition's latest event time events may arrive,"
            + " default 30s) or --allowedLateness (how far behind the watermark an event may arrive, default 0).")));
  }

  @Test
  void aFileRunNamesOnlyTheAllowedLateness() {
    Map<String, Long> counters = Map.of(
        "ParseEvents/events_parsed", 1_000L,
        "SessionFeatures/events_too_late", 30L);

    assertThat(RunCommand.lateWarning(counters, false), is(Optional.of(
        "WARNING: 3.0% of the 1,000 events read came too late to count (SessionFeatures/events_too_late 30); they"
            + " are in the dead letters with reason late. If the input is this much out of order, run again with a"
            + " larger --allowedLateness (how far behind the watermark an event may arrive, default 0).")));
  }

  @Test
  void aFewLateEventsAreNotWarnedAbout() {
    Map<String, Long> counters = Map.of(
        "ParseEvents/events_parsed", 1_000L,
        "EventTime/events_too_late", 20L,
        "RollingAggregate/events_too_late", 19L);

    assertThat(RunCommand.lateWarning(counters, true), is(Optional.empty()));
    assertThat(RunCommand.lateWarning(Map.of(), false), is(Optional.empty()));
  }
}
