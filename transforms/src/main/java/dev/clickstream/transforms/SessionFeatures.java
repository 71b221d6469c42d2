package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.EventFilter;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.schemas.ClickEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Computes any {@link SessionAggregation}: per entity, over event-time sessions, each session's start (first event
 * time), end (last event time), length ({@code end - start}), number of events and number of events matching the
 * feature's {@link SessionAggregation#counted()} condition (for {@code user_sessions}, per user, the clicks).
 *
 * <pre>{@code
 * PCollectionTuple sessions =
 *     events.apply("SessionizePerUser",
 *         SessionFeatures.of(FeatureDefinitions.USER_SESSIONS).withAllowedLateness(Duration.ZERO));
 * PCollection<KV<String, SessionFeatures.SessionStats>> stats = sessions.get(SessionFeatures.SESSIONS);
 * PCollection<ClickEvent> tooLate = sessions.get(SessionFeatures.TOO_LATE);
 * }</pre>
 *
 * <p><b>Input.</b> Avro records ({@link ClickEvent}s unless {@link #of(SessionAggregation, Class)} names another
 * generated class), bounded or not, in any windowing (they are rewindowed into the global window). An event's time
 * is its element timestamp, which must be its own {@code timestamp} (see {@link AssignEventTime}). Fields are read
 * by name ({@link GenericRecord#get(String)}): the entity field and the counted condition's field must be in the
 * events' schema, which {@link #of} checks when the graph is built. Sessions are per entity, the entity field's
 * value as text; an event whose entity field is null is skipped, counted in {@code events_without_entity} (and not
 * in {@code events_in}). Below, "user" stands for the entity.
 *
 * <p><b>Sessions</b> merge as Beam's {@code Sessions.withGapDuration(gap)}: an event at {@code t} covers {@code
 * [t, t + gap)}, and a user's events whose intervals overlap form one session, {@code [first, last + gap)}. So two
 * events share a session when they are less than the gap apart: exactly the gap apart (30 minutes by default), they
 * start two. An event that arrives out of order and overlaps two sessions merges them into one.
 *
 * <p><b>Panes.</b> A session is output on {@link #SESSIONS}, keyed by user, once the watermark passes {@code last +
 * gap} (Beam's on-time pane), timestamped at {@code last + gap - 1 ms} (its window's end). Until the session expires
 * (below), each event that joins it outputs it again (a late pane) at the key's next timer firing, that is at the
 * next watermark update; events that arrive together may share one pane, as with Beam's late firings. Panes
 * accumulate: each holds the whole session so far, so a later pane of a session has more events and a {@code
 * [start, end]} that contains every earlier one's. A sink that keeps the latest pane per (user, start) must mind
 * merges, which can move the start: when a late event at {@code t} merges sessions that were output as (user,
 * {@code a}) and (user, {@code b}), their pane is (user, {@code min(a, t)}), and it supersedes both earlier rows.
 * Panes of different sessions never overlap, so the rule is: of a user's rows whose {@code [start, end]} overlap,
 * keep the one with the most events. That rule is idempotent, so replayed or reordered panes do no harm.
 *
 * <p><b>Lateness.</b> A session is held until the watermark passes {@code last + gap + allowedLateness} (Beam's
 * garbage collection of its window), then cleared. Windowing with a {@code GroupByKey} would drop later events, seen
 * only in the runner's dropped-due-to-lateness counter; here they go unchanged to {@link #TOO_LATE}, timestamped as
 * they came, and are counted in {@code SessionFeatures/events_too_late}. The transform sees the watermark only
 * through the times the user's timers fired at (as {@link IntervalJoin}), and an event at {@code t} is too late
 * when:
 *
 * <ul>
 *   <li>{@code t + gap - 1 ms + allowedLateness} is at or before such a time: the watermark has passed its own
 *       window's end plus the allowed lateness, where Beam drops it too; or
 *   <li>{@code t} is less than {@code gap} after the last event of a session that was cleared (or before it): it
 *       would join a session that is gone. Beam would emit it as a separate session, less than a gap from the
 *       other; here a user's sessions stay at least a gap apart.
 * </ul>
 *
 * An event that neither rules out is applied however far behind the watermark it is (a user's first event, say), so
 * no event is lost: its session is output at the key's next timer firing, possibly behind the output watermark.
 * Every event is counted once: {@code events_in} is the number of events applied plus {@code events_too_late}.
 *
 * <p><b>State.</b> Per user, the sessions not yet cleared, and two longs kept for as long as the pipeline runs so
 * that late events are recognised (as {@link RollingAggregate} keeps its entities' latest times): the latest time
 * the user's timers fired at, and the last event time of the latest cleared session. It keeps them in one {@code
 * ValueState}, read and written once per event, with one event-time timer, which the Flink runner supports. The timer holds the output watermark at the
 * next session to output, so on-time panes are not late downstream. It is state and timers rather than {@code
 * Window.into(Sessions...)} only so that too-late events can be output.
 *
 * <p><b>Metrics</b>, per step, in the namespace {@code SessionFeatures}: counters {@code events_without_entity},
 * {@code events_in}, {@code sessions_emitted} (one per pane on {@link #SESSIONS}, late panes included) and {@code
 * events_too_late}; the distribution {@code process_micros}, each event's processing time.
 *
 * <p><b>Step names</b> follow the entity, so a feature's steps keep their names, and their state, across upgrades:
 * {@code KeyByUser} and {@code SessionizePerUser} for {@code user_id}, {@code KeyByItem} and {@code
 * SessionizePerItem} for {@code item_id}.
 *
 * <p>Events are not deduplicated by id: an event delivered twice by its source counts twice. Runner retries do not
 * duplicate panes, as state and outputs commit together.
 */
public final class SessionFeatures<T extends GenericRecord> extends PTransform<PCollection<T>, PCollectionTuple> {
  /** Each session of each user, once per pane: the on-time pane, then one per late change. */
  public static final TupleTag<KV<String, SessionStats>> SESSIONS = new TupleTag<KV<String, SessionStats>>() {};
  /** Events that arrived later than the allowed lateness, unchanged, when they are {@link ClickEvent}s. */
  public static final TupleTag<ClickEvent> TOO_LATE = new TupleTag<ClickEvent>() {};

  /** None, as the pipelines' {@code --allowedLateness} default. */
  public static final Duration DEFAULT_ALLOWED_LATENESS = Duration.ZERO;

  static final String STAGE = "SessionFeatures";
  static final String EVENTS_WITHOUT_ENTITY = "events_without_entity";
  static final String EVENTS_IN = "events_in";
  static final String SESSIONS_EMITTED = "sessions_emitted";
  static final String EVENTS_TOO_LATE = "events_too_late";

  private final SessionAggregation feature;
  private final Class<T> eventClass;
  private final Duration gap;
  private final Duration allowedLateness;

  private SessionFeatures(SessionAggregation feature, Class<T> eventClass, Duration gap, Duration allowedLateness) {
    this.feature = feature;
    this.eventClass = eventClass;
    this.gap = gap;
    this.allowedLateness = allowedLateness;
  }

  /** The registry's {@link FeatureDefinitions#USER_SESSIONS} over {@link ClickEvent}s. */
  public static SessionFeatures<ClickEvent> perUser() {
    return of(FeatureDefinitions.USER_SESSIONS);
  }

  /** {@code feature} over {@link ClickEvent}s; see {@link #of(SessionAggregation, Class)}. */
  public static SessionFeatures<ClickEvent> of(SessionAggregation feature) {
    return of(feature, ClickEvent.class);
  }

  /**
   * Sessions as {@code feature} declares them, over events of {@code eventClass}, a generated Avro class such as
   * {@code EnrichedClickEvent}: per its entity field, with its gap, counting the events its condition matches; no
   * allowed lateness.
   *
   * @throws IllegalArgumentException when the events lack the entity field or the condition's field
   */
  public static <T extends GenericRecord> SessionFeatures<T> of(SessionAggregation feature, Class<T> eventClass) {
    requireNonNull(feature, "feature");
    Schema schema = FeatureSteps.eventSchema(STAGE, feature.name(), requireNonNull(eventClass, "eventClass"));
    FeatureSteps.checkFields(
        STAGE, feature.name(), schema, eventClass.getSimpleName(),
        List.of(feature.entityField(), feature.counted().field()));
    return new SessionFeatures<>(feature, eventClass, Duration.millis(feature.gapMillis()), DEFAULT_ALLOWED_LATENESS);
  }

  /** Events less than {@code gap} apart share a session, instead of the feature's gap. */
  public SessionFeatures<T> withGap(Duration gap) {
    if (gap == null || !gap.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("gap must be a positive duration, got " + gap);
    }
    return new SessionFeatures<>(feature, eventClass, gap, allowedLateness);
  }

  /** How long after the watermark passes a session's {@code last + gap} late events still update it. */
  public SessionFeatures<T> withAllowedLateness(Duration lateness) {
    return new SessionFeatures<>(feature, eventClass, gap, FeatureSteps.checkAllowedLateness(lateness));
  }

  /** Where too-late events go, typed as the input's records: {@link #TOO_LATE}'s tag. */
  public TupleTag<T> tooLate() {
    return new TupleTag<>(TOO_LATE.getId());
  }

  Duration gap() {
    return gap;
  }

  Duration allowedLateness() {
    return allowedLateness;
  }

  @Override
  public PCollectionTuple expand(PCollection<T> events) {
    String entity = FeatureSteps.camelCase(FeatureSteps.entityLabel(feature.entityField()));
    TupleTag<T> tooLate = tooLate();
    PCollectionTuple result =
        events
            .apply("KeyBy" + entity, ParDo.of(new KeyByEntityFn<T>(feature.entityField())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), AvroCoder.of(eventClass)))
            // Lateness is handled in state: the windowing only has to put every event of a user in one window.
            .apply(
                "RewindowIntoGlobalWindow",
                Window.<KV<String, T>>into(new GlobalWindows())
                    .triggering(DefaultTrigger.of())
                    .withAllowedLateness(Duration.ZERO)
                    .discardingFiredPanes())
            .apply(
                "SessionizePer" + entity,
                ParDo.of(new SessionizeFn<T>(gap.getMillis(), allowedLateness.getMillis(), feature.counted(), tooLate))
                    .withOutputTags(SESSIONS, TupleTagList.of(tooLate)));
    result.get(SESSIONS).setCoder(KvCoder.of(StringUtf8Coder.of(), SessionStats.Coder.of()));
    result.get(tooLate).setCoder(AvroCoder.of(eventClass));
    return result;
  }

  /** Keys each event by its entity field's value, as text; skips and counts events without one. */
  static final class KeyByEntityFn<T extends GenericRecord> extends DoFn<T, KV<String, T>> {
    private final String entityField;
    private final Counter withoutEntity = Metrics.counter(STAGE, EVENTS_WITHOUT_ENTITY);

    KeyByEntityFn(String entityField) {
      this.entityField = entityField;
    }

    @ProcessElement
    public void processElement(@Element T event, OutputReceiver<KV<String, T>> out) {
      Object entity = event.get(entityField);
      if (entity == null) {
        withoutEntity.inc();
        return;
      }
      out.output(KV.of(entity.toString(), event));
    }
  }

  /**
   * One session of one user: first and last event times (epoch milliseconds), events and the events the feature's
   * condition matched ({@link #clicks()}). Immutable.
   */
  public static final class SessionStats {
    private final long start;
    private final long end;
    private final long events;
    private final long clicks;

    public SessionStats(long start, long end, long events, long clicks) {
      if (end < start) {
        throw new IllegalArgumentException(
            "end must not be before start, got start=" + new Instant(start) + ", end=" + new Instant(end));
      }
      if (events < 1) {
        throw new IllegalArgumentException("events must be at least 1, got " + events);
      }
      if (clicks < 0 || clicks > events) {
        throw new IllegalArgumentException("clicks must be between 0 and events (" + events + "), got " + clicks);
      }
      this.start = start;
      this.end = end;
      this.events = events;
      this.clicks = clicks;
    }

    /** The first event's time. */
    public long start() {
      return start;
    }

    /** The last event's time. */
    public long end() {
      return end;
    }

    /** {@code end - start} in milliseconds: zero for a session of one event. */
    public long lengthMillis() {
      return end - start;
    }

    public long events() {
      return events;
    }

    /** The events the feature's {@link SessionAggregation#counted()} condition matched: clicks, for most features. */
    public long clicks() {
      return clicks;
    }

    /** The session both this one and {@code other} merge into. */
    SessionStats mergedWith(SessionStats other) {
      return new SessionStats(
          Math.min(start, other.start), Math.max(end, other.end), events + other.events, clicks + other.clicks);
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof SessionStats)) {
        return false;
      }
      SessionStats other = (SessionStats) o;
      return start == other.start && end == other.end && events == other.events && clicks == other.clicks;
    }

    @Override
    public int hashCode() {
      return Objects.hash(start, end, events, clicks);
    }

    @Override
    public String toString() {
      return "SessionStats(" + new Instant(start) + " to " + new Instant(end) + ", " + lengthMillis() + " ms, "
          + events + " events, " + clicks + " clicks)";
    }

    /** A compact, deterministic coder: the start, then the length, events and clicks as var-longs. */
    public static final class Coder extends AtomicCoder<SessionStats> {
      private static final Coder INSTANCE = new Coder();

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(SessionStats stats, OutputStream out) throws IOException {
        VarLongCoder.of().encode(stats.start, out);
        VarLongCoder.of().encode(stats.lengthMillis(), out);
        VarLongCoder.of().encode(stats.events, out);
        VarLongCoder.of().encode(stats.clicks, out);
      }

      @Override
      public SessionStats decode(InputStream in) throws IOException {
        long start = VarLongCoder.of().decode(in);
        long length = VarLongCoder.of().decode(in);
        return new SessionStats(start, start + length, VarLongCoder.of().decode(in), VarLongCoder.of().decode(in));
      }

      @Override
      public void verifyDeterministic() {}

      @Override
      public boolean consistentWithEquals() {
        return true;
      }
    }
  }

  /** A session in state, and whether it changed since its last pane (or has had none). */
  static final class HeldSession {
    final SessionStats stats;
    final boolean pending;

    HeldSession(SessionStats stats, boolean pending) {
      this.stats = stats;
      this.pending = pending;
    }

    static final class Coder extends AtomicCoder<HeldSession> {
      private static final Coder INSTANCE = new Coder();

      static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(HeldSession session, OutputStream out) throws IOException {
        SessionStats.Coder.of().encode(session.stats, out);
        BooleanCoder.of().encode(session.pending, out);
      }

      @Override
      public HeldSession decode(InputStream in) throws IOException {
        return new HeldSession(SessionStats.Coder.of().decode(in), BooleanCoder.of().decode(in));
      }

      @Override
      public void verifyDeterministic() {}
    }
  }

  /**
   * One user's held sessions (pairwise at least a gap apart), the time the deadline timer is set for, the latest
   * time the timer fired at and the last event time of the latest cleared session ({@link #NONE} for none); the last
   * two are never cleared. Mutable: the sessionizer reads it, changes it and writes it back.
   */
  static final class UserSessions {
    static final long NONE = Long.MIN_VALUE;

    List<HeldSession> sessions;
    long deadlineAt;
    long watermarkReached;
    long lastClearedEnd;

    UserSessions() {
      this(new ArrayList<>(), NONE, NONE, NONE);
    }

    UserSessions(List<HeldSession> sessions, long deadlineAt, long watermarkReached, long lastClearedEnd) {
      this.sessions = sessions;
      this.deadlineAt = deadlineAt;
      this.watermarkReached = watermarkReached;
      this.lastClearedEnd = lastClearedEnd;
    }

    /** The three times as var-longs, then the sessions. */
    static final class Coder extends CustomCoder<UserSessions> {
      private static final Coder INSTANCE = new Coder();
      private static final ListCoder<HeldSession> SESSIONS = ListCoder.of(HeldSession.Coder.of());

      static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(UserSessions user, OutputStream out) throws IOException {
        VarLongCoder.of().encode(user.deadlineAt, out);
        VarLongCoder.of().encode(user.watermarkReached, out);
        VarLongCoder.of().encode(user.lastClearedEnd, out);
        SESSIONS.encode(user.sessions, out);
      }

      @Override
      public UserSessions decode(InputStream in) throws IOException {
        long deadlineAt = VarLongCoder.of().decode(in);
        long watermarkReached = VarLongCoder.of().decode(in);
        long lastClearedEnd = VarLongCoder.of().decode(in);
        return new UserSessions(new ArrayList<>(SESSIONS.decode(in)), deadlineAt, watermarkReached, lastClearedEnd);
      }

      @Override
      public void verifyDeterministic() {}
    }
  }

  /** Merges a user's events into sessions in state, outputs them on their deadlines and clears them when expired. */
  static final class SessionizeFn<T extends GenericRecord> extends DoFn<KV<String, T>, KV<String, SessionStats>> {
    private static final String USER_SESSIONS = "userSessions";
    private static final String DEADLINE = "deadline";
    private static final long END_OF_GLOBAL_WINDOW = GlobalWindow.INSTANCE.maxTimestamp().getMillis();

    /**
     * The user's sessions, the deadline timer's time and the times that tell late events, in one value: each event
     * reads and writes one state cell, where Beam on Flink pays a lookup and a namespace key per cell.
     */
    @StateId(USER_SESSIONS)
    private final StateSpec<ValueState<UserSessions>> userSessionsSpec = StateSpecs.value(UserSessions.Coder.of());

    /** Outputs pending sessions whose window ended and clears expired ones; holds the output at its own time. */
    @TimerId(DEADLINE)
    private final TimerSpec deadlineSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    private final Counter eventsIn = Metrics.counter(STAGE, EVENTS_IN);
    private final Counter sessionsEmitted = Metrics.counter(STAGE, SESSIONS_EMITTED);
    private final Counter tooLate = Metrics.counter(STAGE, EVENTS_TOO_LATE);
    private final Distribution processMicros = Metrics.distribution(STAGE, "process_micros");

    private final long gapMillis;
    private final long latenessMillis;
    private final EventFilter counted;
    private final TupleTag<T> tooLateTag;

    SessionizeFn(long gapMillis, long latenessMillis, EventFilter counted, TupleTag<T> tooLateTag) {
      this.gapMillis = gapMillis;
      this.latenessMillis = latenessMillis;
      this.counted = counted;
      this.tooLateTag = tooLateTag;
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, T> element,
        @Timestamp Instant timestamp,
        @StateId(USER_SESSIONS) ValueState<UserSessions> state,
        @TimerId(DEADLINE) Timer deadline,
        MultiOutputReceiver out) {
      long started = System.nanoTime();
      try {
        eventsIn.inc();
        long time = timestamp.getMillis();
        UserSessions stored = state.read();
        UserSessions user = stored == null ? new UserSessions() : stored;
        if ((user.watermarkReached != UserSessions.NONE && expiry(time) <= user.watermarkReached)
            || (user.lastClearedEnd != UserSessions.NONE && time < saturatedAdd(user.lastClearedEnd, gapMillis))) {
          tooLate.inc();
          out.get(tooLateTag).output(element.getValue());
          return;
        }

        SessionStats merged = new SessionStats(time, time, 1, counted.matches(element.getValue()::get) ? 1 : 0);
        // Held sessions do not overlap one another, so one pass finds every session the event bridges.
        Iterator<HeldSession> held = user.sessions.iterator();
        while (held.hasNext()) {
          HeldSession session = held.next();
          if (overlap(session.stats, merged)) {
            merged = merged.mergedWith(session.stats);
            held.remove();
          }
        }
        user.sessions.add(new HeldSession(merged, true));

        // At or after the event's own time, as the timer's output timestamp must be; if the watermark is already past
        // it, the timer fires at the next watermark update, which is the late pane.
        long due = windowEnd(merged);
        if (user.deadlineAt == UserSessions.NONE || due < user.deadlineAt) {
          deadline.set(new Instant(due));
          user.deadlineAt = due;
        }
        state.write(user);
      } finally {
        processMicros.update((System.nanoTime() - started) / 1_000);
      }
    }

    @OnTimer(DEADLINE)
    public void onDeadline(
        OnTimerContext context,
        @Key String userId,
        @StateId(USER_SESSIONS) ValueState<UserSessions> state,
        @TimerId(DEADLINE) Timer deadline,
        MultiOutputReceiver out) {
      long now = context.fireTimestamp().getMillis();
      UserSessions user = state.read();
      if (user == null) {
        return;
      }
      user.watermarkReached = Math.max(user.watermarkReached, now);
      List<HeldSession> held = user.sessions;
      held.sort(Comparator.comparingLong(session -> session.stats.start()));
      // A new list, sized to what is kept: a user whose sessions are all cleared keeps no emptied array.
      user.sessions = new ArrayList<>();
      long next = UserSessions.NONE;
      for (HeldSession session : held) {
        // The timer is never set after a held session's deadline, so a session due now is due exactly now, and its
        // pane takes the timer's output timestamp: its window's end.
        if (session.pending && windowEnd(session.stats) <= now) {
          out.get(SESSIONS).output(KV.of(userId, session.stats));
          sessionsEmitted.inc();
          session = new HeldSession(session.stats, false);
        }
        if (!session.pending && expiry(session.stats.end()) <= now) {
          user.lastClearedEnd = Math.max(user.lastClearedEnd, session.stats.end());
          continue;
        }
        user.sessions.add(session);
        long due = session.pending ? windowEnd(session.stats) : expiry(session.stats.end());
        next = next == UserSessions.NONE ? due : Math.min(next, due);
      }
      user.deadlineAt = next;
      if (next != UserSessions.NONE) {
        deadline.set(new Instant(next));
      }
      state.write(user);
    }

    /** Whether the sessions' windows {@code [start, end + gap)} overlap: Beam's rule for merging them. */
    private boolean overlap(SessionStats a, SessionStats b) {
      return a.start() < saturatedAdd(b.end(), gapMillis) && b.start() < saturatedAdd(a.end(), gapMillis);
    }

    /** The last millisecond of the session's window, when the watermark passing it makes the on-time pane. */
    private long windowEnd(SessionStats session) {
      return saturatedAdd(session.end(), gapMillis - 1);
    }

    /** When the window of a session ending at {@code end} expires: its last millisecond plus the lateness. */
    private long expiry(long end) {
      return saturatedAdd(saturatedAdd(end, gapMillis - 1), latenessMillis);
    }

    /** {@code time + millis} (millis at least zero), at most the end of the global window, where timers can fire. */
    private static long saturatedAdd(long time, long millis) {
      long sum = time + millis;
      return sum < time || sum > END_OF_GLOBAL_WINDOW ? END_OF_GLOBAL_WINDOW : sum;
    }
  }
}
