package dev.clickstream.transforms;

import static dev.clickstream.features.DimensionDefinitions.ITEMS;
import static dev.clickstream.features.DimensionDefinitions.USERS;
import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Dimension;
import dev.clickstream.features.DimensionSnapshot;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.EnrichedClickEvent;
import dev.clickstream.transforms.DimensionSnapshots.Schedule;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Enriches click events with the attributes of their user ({@link
 * dev.clickstream.features.DimensionDefinitions#USERS}) and item ({@link
 * dev.clickstream.features.DimensionDefinitions#ITEMS}) as the dimension snapshot in effect at the event's time
 * has them: a stream–table join against slowly changing side inputs.
 *
 * <pre>{@code
 * Instant start = Instant.now();
 * DimensionSnapshots users =
 *     DimensionSnapshots.refreshedEvery(SnapshotSource.jdbc(url, USERS), FIVE_MINUTES).startingAt(start);
 * DimensionSnapshots items =
 *     DimensionSnapshots.refreshedEvery(SnapshotSource.jdbc(url, ITEMS), FIVE_MINUTES).startingAt(start);
 * PCollection<EnrichedClickEvent> enriched = events.apply("EnrichWithDimensions",
 *     EnrichWithDimensions.of(users, items));
 * }</pre>
 *
 * <p><b>Input.</b> {@link ClickEvent}s, bounded or not, in any windowing, each timestamped at its event time (see
 * {@link AssignEventTime}). The users and items snapshots are loaded by two {@link DimensionSnapshots} on one
 * schedule, which this transform applies: both {@code loadedOnce}, or both {@code refreshedEvery} the same interval
 * {@code startingAt} the same instant; {@link #of} rejects anything else while the graph is built.
 *
 * <p><b>Which snapshot.</b> Loaded once: every event uses the one snapshot. Refreshed: events are windowed into the
 * snapshots' {@code FixedWindows} of the refresh interval (aligned to the epoch), and an event uses the snapshot of
 * the refresh in its window, whatever order events arrive in. So a refresh is used for events from the start of its
 * window on, and an event that arrives late still gets the snapshot of its own time. Events earlier than the first
 * refresh's window never have a snapshot; they bypass the side input (waiting for a snapshot that never comes would
 * hold them, and the watermark, forever on Flink) and get the defaults. Events in a window that has no snapshot
 * although later than the first (after {@code stoppingAt}, say) get the defaults too, once the snapshots' output
 * has ended.
 *
 * <p><b>Output.</b> One {@link EnrichedClickEvent} per event, with the event's fields and timestamp, in the global
 * window (default trigger, discarding), whatever the input's windowing was. A key the snapshot lacks gets the
 * dimension's declared defaults ({@link Dimension#defaults()}) and {@code user_known} or {@code item_known} false;
 * an event without {@code item_id} gets the item defaults and {@code item_known} false.
 *
 * <p><b>Freshness and latency.</b> The attributes are the table as the snapshot's load read it. In real time, a
 * window's refresh fires as the window starts, so they are at most one interval (plus the load's own time) older
 * than the event; when catching up (a start in the past, replayed events), every past window's snapshot is the
 * table as it was at the load, not as it was at the event. A window's snapshot becomes available when the next
 * refresh fires (see {@link DimensionSnapshots}), so an event is output up to one interval after its window starts,
 * and the transform holds the watermark back by as much. Loaded once, events wait only for the first load.
 *
 * <p><b>Memory.</b> Each worker holds every window's snapshot as side-input state for as long as the runner keeps
 * it; Beam's Flink runner never drops side-input windows (apache/beam#18242), so a long-running refreshed pipeline
 * accumulates one snapshot per interval there. Each lookup instance also keeps the snapshots of the last window it
 * looked up in, since Flink reads a side input from state on every access.
 *
 * <p><b>Metrics</b>, in the namespace {@code EnrichWithDimensions}: counters {@code users_hit} and {@code
 * users_miss} (events whose user the snapshot held or lacked), {@code items_hit}, {@code items_miss} and {@code
 * items_absent} (events without {@code item_id}), so that each looked-up event counts once per dimension; {@code
 * before_first_snapshot} (events that bypassed the side input, counted in none of the others) and {@code
 * without_snapshot} (looked-up events whose window had no users or no items snapshot; their lookups count as
 * misses). Distributions {@code users_snapshot_age_ms} and {@code items_snapshot_age_ms}: per looked-up event, the
 * processing time of the lookup minus the snapshot's load time; {@code process_micros}, each lookup's processing
 * time (the lookup alone, not the steps that a runner chains after it).
 *
 * <p>The transform only reads; a runner retrying a bundle outputs the same events again with the same snapshots.
 */
public final class EnrichWithDimensions
    extends PTransform<PCollection<ClickEvent>, PCollection<EnrichedClickEvent>> {
  static final String NAMESPACE = "EnrichWithDimensions";
  static final String USERS_HIT = "users_hit";
  static final String USERS_MISS = "users_miss";
  static final String ITEMS_HIT = "items_hit";
  static final String ITEMS_MISS = "items_miss";
  static final String ITEMS_ABSENT = "items_absent";
  static final String BEFORE_FIRST_SNAPSHOT = "before_first_snapshot";
  static final String WITHOUT_SNAPSHOT = "without_snapshot";
  static final String USERS_SNAPSHOT_AGE_MS = "users_snapshot_age_ms";
  static final String ITEMS_SNAPSHOT_AGE_MS = "items_snapshot_age_ms";

  /** Events at or after the first refresh's window: looked up against the side inputs. */
  private static final TupleTag<ClickEvent> LOOK_UP = new TupleTag<ClickEvent>() {};
  /** Events before it, already enriched with the defaults. */
  private static final TupleTag<EnrichedClickEvent> BEFORE_FIRST = new TupleTag<EnrichedClickEvent>() {};

  private static final int USER_COUNTRY = USERS.attributeIndex("country");
  private static final int USER_SEGMENT = USERS.attributeIndex("segment");
  private static final int USER_SIGNUP_TIME = USERS.attributeIndex("signup_time");
  private static final int ITEM_CATEGORY = ITEMS.attributeIndex("category");
  private static final int ITEM_CAMPAIGN = ITEMS.attributeIndex("campaign");
  private static final int ITEM_PRICE = ITEMS.attributeIndex("price");

  private final DimensionSnapshots users;
  private final DimensionSnapshots items;
  private final Schedule schedule;
  private final ProcessingClock clock;

  private EnrichWithDimensions(
      DimensionSnapshots users, DimensionSnapshots items, Schedule schedule, ProcessingClock clock) {
    this.users = users;
    this.items = items;
    this.schedule = schedule;
    this.clock = clock;
  }

  /**
   * Enriches with the snapshots {@code users} and {@code items} load, in that order (the transform applies both,
   * as its steps LoadUsers and LoadItems); fails when they are not on one schedule (see the class documentation).
   */
  public static EnrichWithDimensions of(DimensionSnapshots users, DimensionSnapshots items) {
    Schedule usersSchedule = requireNonNull(users, "users").schedule();
    Schedule itemsSchedule = requireNonNull(items, "items").schedule();
    if (!usersSchedule.equals(itemsSchedule)) {
      throw new IllegalArgumentException(
          "users and items snapshots must be on one schedule, so that every event's window has a snapshot of both:"
              + " users are " + usersSchedule + ", items are " + itemsSchedule + ". Make both with"
              + " DimensionSnapshots.loadedOnce(...), or both with refreshedEvery(...) at the same interval and"
              + " startingAt(...) the same instant");
    }
    return new EnrichWithDimensions(users, items, usersSchedule, ProcessingClock.SYSTEM);
  }

  /** The clock that times lookups for the snapshot-age distributions, for tests. */
  EnrichWithDimensions withClock(ProcessingClock clock) {
    return new EnrichWithDimensions(users, items, schedule, requireNonNull(clock, "clock"));
  }

  @Override
  public PCollection<EnrichedClickEvent> expand(PCollection<ClickEvent> events) {
    Pipeline pipeline = events.getPipeline();
    // A window without a snapshot (after the last refresh) reads as never loaded: the defaults.
    PCollectionView<DimensionSnapshot> usersView =
        pipeline
            .apply("LoadUsers", users)
            .apply(
            "ViewUsers", View.<DimensionSnapshot>asSingleton().withDefaultValue(DimensionSnapshot.empty(USERS)));
    PCollectionView<DimensionSnapshot> itemsView =
        pipeline
            .apply("LoadItems", items)
            .apply(
            "ViewItems", View.<DimensionSnapshot>asSingleton().withDefaultValue(DimensionSnapshot.empty(ITEMS)));
    LookUpFn lookUp = new LookUpFn(usersView, itemsView, clock);

    if (schedule.isOnce()) {
      // A side input in the global window serves every main-input window as it is.
      return events
          .apply("LookUpDimensions", ParDo.of(lookUp).withSideInputs(usersView, itemsView))
          .setCoder(AvroCoder.of(EnrichedClickEvent.class))
          .apply("RewindowIntoGlobalWindow", intoGlobalWindow());
    }

    PCollectionTuple routed =
        events.apply(
            "RouteAroundMissingSnapshots",
            ParDo.of(new RouteFn(schedule.firstWindowStart())).withOutputTags(LOOK_UP, TupleTagList.of(BEFORE_FIRST)));
    PCollection<EnrichedClickEvent> lookedUp =
        routed
            .get(LOOK_UP)
            .setCoder(events.getCoder())
            .apply("WindowIntoRefreshIntervals", Window.into(schedule.windowFn()))
            .apply("LookUpDimensions", ParDo.of(lookUp).withSideInputs(usersView, itemsView))
            .setCoder(AvroCoder.of(EnrichedClickEvent.class))
            .apply("RewindowLookedUpIntoGlobalWindow", intoGlobalWindow());
    PCollection<EnrichedClickEvent> beforeFirst =
        routed
            .get(BEFORE_FIRST)
            .setCoder(AvroCoder.of(EnrichedClickEvent.class))
            .apply("RewindowBypassedIntoGlobalWindow", intoGlobalWindow());
    return PCollectionList.of(lookedUp).and(beforeFirst).apply("MergeEnrichedEvents", Flatten.pCollections());
  }

  private static Window<EnrichedClickEvent> intoGlobalWindow() {
    return Window.<EnrichedClickEvent>into(new GlobalWindows())
        .triggering(DefaultTrigger.of())
        .withAllowedLateness(Duration.ZERO)
        .discardingFiredPanes();
  }

  /** The event with the given user and item attribute values, in their dimensions' attribute order. */
  static EnrichedClickEvent enriched(
      ClickEvent event, List<Object> user, boolean userKnown, List<Object> item, boolean itemKnown) {
    return EnrichedClickEvent.newBuilder()
        .setEventId(event.getEventId())
        .setUserId(event.getUserId())
        .setEventType(event.getEventType())
        .setItemId(event.getItemId())
        .setSessionId(event.getSessionId())
        .setTimestamp(event.getTimestamp())
        .setUserCountry((String) user.get(USER_COUNTRY))
        .setUserSegment((String) user.get(USER_SEGMENT))
        .setUserSignupTime((Long) user.get(USER_SIGNUP_TIME))
        .setUserKnown(userKnown)
        .setItemCategory((String) item.get(ITEM_CATEGORY))
        .setItemCampaign((String) item.get(ITEM_CAMPAIGN))
        .setItemPrice((Double) item.get(ITEM_PRICE))
        .setItemKnown(itemKnown)
        .build();
  }

  /**
   * Sends events before the first refresh's window, which will never have a snapshot, out enriched with the
   * defaults; the others on to the lookup.
   */
  static final class RouteFn extends DoFn<ClickEvent, ClickEvent> {
    private final Instant firstWindowStart;
    private final Counter beforeFirstSnapshot = Metrics.counter(NAMESPACE, BEFORE_FIRST_SNAPSHOT);

    RouteFn(Instant firstWindowStart) {
      this.firstWindowStart = firstWindowStart;
    }

    @ProcessElement
    public void processElement(@Element ClickEvent event, @Timestamp Instant timestamp, MultiOutputReceiver out) {
      if (timestamp.isBefore(firstWindowStart)) {
        beforeFirstSnapshot.inc();
        out.get(BEFORE_FIRST).output(enriched(event, USERS.defaults(), false, ITEMS.defaults(), false));
      } else {
        out.get(LOOK_UP).output(event);
      }
    }
  }

  /** Looks the event's user and item up in the snapshots of its window. */
  static final class LookUpFn extends DoFn<ClickEvent, EnrichedClickEvent> {
    private final PCollectionView<DimensionSnapshot> usersView;
    private final PCollectionView<DimensionSnapshot> itemsView;
    private final ProcessingClock clock;
    private final Counter usersHit = Metrics.counter(NAMESPACE, USERS_HIT);
    private final Counter usersMiss = Metrics.counter(NAMESPACE, USERS_MISS);
    private final Counter itemsHit = Metrics.counter(NAMESPACE, ITEMS_HIT);
    private final Counter itemsMiss = Metrics.counter(NAMESPACE, ITEMS_MISS);
    private final Counter itemsAbsent = Metrics.counter(NAMESPACE, ITEMS_ABSENT);
    private final Counter withoutSnapshot = Metrics.counter(NAMESPACE, WITHOUT_SNAPSHOT);
    private final Distribution usersAge = Metrics.distribution(NAMESPACE, USERS_SNAPSHOT_AGE_MS);
    private final Distribution itemsAge = Metrics.distribution(NAMESPACE, ITEMS_SNAPSHOT_AGE_MS);
    private final Distribution processMicros = Metrics.distribution(NAMESPACE, "process_micros");

    /**
     * The snapshots of the side-input window looked up in last. Flink's runner reads a side input from state on
     * every access (and deserializes it with RocksDB); a window's snapshot never changes once it is available (one
     * pane: default trigger, no allowed lateness), so each instance reads it once per window.
     */
    private transient BoundedWindow cachedWindow;

    private transient DimensionSnapshot cachedUsers;
    private transient DimensionSnapshot cachedItems;

    LookUpFn(
        PCollectionView<DimensionSnapshot> usersView,
        PCollectionView<DimensionSnapshot> itemsView,
        ProcessingClock clock) {
      this.usersView = usersView;
      this.itemsView = itemsView;
      this.clock = clock;
    }

    @ProcessElement
    public void processElement(ProcessContext context, BoundedWindow window) {
      long started = System.nanoTime();
      EnrichedClickEvent enriched;
      try {
        ClickEvent event = context.element();
        // Both views are windowed alike, so one mapping serves both.
        BoundedWindow sideInputWindow = usersView.getWindowMappingFn().getSideInputWindow(window);
        if (!sideInputWindow.equals(cachedWindow)) {
          cachedUsers = checkedSnapshot(context.sideInput(usersView), USERS, "users");
          cachedItems = checkedSnapshot(context.sideInput(itemsView), ITEMS, "items");
          cachedWindow = sideInputWindow;
        }
        DimensionSnapshot userSnapshot = cachedUsers;
        DimensionSnapshot itemSnapshot = cachedItems;
        long now = clock.nowMillis();
        if (userSnapshot.isLoaded()) {
          usersAge.update(now - userSnapshot.loadedAtMillis());
        }
        if (itemSnapshot.isLoaded()) {
          itemsAge.update(now - itemSnapshot.loadedAtMillis());
        }
        if (!userSnapshot.isLoaded() || !itemSnapshot.isLoaded()) {
          withoutSnapshot.inc();
        }

        Optional<List<Object>> user = userSnapshot.lookup(event.getUserId());
        (user.isPresent() ? usersHit : usersMiss).inc();
        Optional<List<Object>> item = Optional.empty();
        if (event.getItemId() == null) {
          itemsAbsent.inc();
        } else {
          item = itemSnapshot.lookup(event.getItemId());
          (item.isPresent() ? itemsHit : itemsMiss).inc();
        }
        enriched =
            enriched(
                event,
                user.orElse(USERS.defaults()),
                user.isPresent(),
                item.orElse(ITEMS.defaults()),
                item.isPresent());
      } finally {
        // The lookup alone: on Flink, output() runs the steps chained after this one before it returns.
        processMicros.update((System.nanoTime() - started) / 1_000);
      }
      context.output(enriched);
    }

    /**
     * The snapshot, after checking it is of the dimension this side input expects: swapped arguments to {@link
     * #of} would otherwise look every key up in the wrong table.
     */
    private static DimensionSnapshot checkedSnapshot(DimensionSnapshot snapshot, Dimension expected, String which) {
      if (!snapshot.dimension().equals(expected)) {
        throw new IllegalStateException(
            "the " + which + " side input holds a snapshot of " + snapshot.dimension() + ", expected " + expected
                + ": pass EnrichWithDimensions.of(usersSnapshots, itemsSnapshots) in that order, each loaded with"
                + " its DimensionDefinitions declaration");
      }
      return snapshot;
    }
  }
}
