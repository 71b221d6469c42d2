package dev.clickstream.offline;

import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.Partial;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.transforms.FeatureEvent;
import dev.clickstream.transforms.FeatureRows;
import dev.clickstream.transforms.OfflineFiles;
import dev.clickstream.transforms.SelectFeatureEvents;
import dev.clickstream.transforms.WriteOfflineEvents;
import dev.clickstream.transforms.WriteOfflineFiles;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.parquet.ParquetIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.join.CoGbkResult;
import org.apache.beam.sdk.transforms.join.CoGroupByKey;
import org.apache.beam.sdk.transforms.join.KeyedPCollectionTuple;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;

/**
 * A point-in-time correct training set: for each row {@code (entity, T)} of a {@link Spine}, each view's value as
 * of {@code T} ({@link TrainingView}, {@link AsOfJoin}), read from the offline store. A Beam batch job.
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadSpine: the spine, in file order, each row numbered.
 *   <li>JoinPer_ENTITY, once per entity field the views are keyed by: the spine rows and every such view's history
 *       (Parquet files under {@code OFFLINE/VIEW/date=*}) or raw events ({@code OFFLINE/events/date=*}), grouped by
 *       entity; each spine row gets the views' values as of its timestamp.
 *   <li>WriteInSpineOrder: rows grouped into parts of {@value #ROWS_PER_PART} consecutive spine rows, each part
 *       sorted and written to {@code OUTPUT.parts/}; {@link TrainingSetFiles#assemble} then joins the parts, in
 *       order, into the output file.
 * </ol>
 *
 * <p>A spine row whose entity key is empty gets nulls for the views keyed by it. Memory: one entity's spine rows and
 * history are held together, which suits per-user and per-item views; a view keyed by a handful of entities (a
 * segment) holds most of the spine at once.
 */
public final class TrainingData {
  /** Consecutive spine rows sorted and written together. */
  static final int ROWS_PER_PART = 50_000;
  /** The key of spine rows without the entity: no id can be it, as ids hold no control characters. */
  private static final String NO_ENTITY = "\u0000";
  private static final String NAMESPACE = "TrainingData";

  private static final TupleTag<KV<Long, Row>> SPINE = new TupleTag<KV<Long, Row>>() {};

  /** Schema of an event as a rolling view reads it: its time and, when the feature aggregates one, its value. */
  static final Schema EVENT = Schema.builder().addInt64Field("timestamp").addNullableDoubleField("value").build();

  private TrainingData() {}

  /** What a job reads and writes, checked before it starts. */
  public record Plan(
      Spine spine, List<TrainingView> views, Schema schema, String offlineStore, Long maxAgeMillis, String output)
      implements Serializable {

    public boolean csv() {
      return Spine.isCsv(output);
    }

    /** Where the job writes the sorted parts of the output. */
    public Path partsDirectory() {
      return Paths.get(output + ".parts");
    }
  }

  /**
   * The plan of {@code options} over {@code registry}: the views, the spine's columns, the output's schema.
   *
   * @throws IllegalArgumentException saying what to fix: an unknown view, a spine without a needed column, a
   *     view with no offline history yet
   */
  public static Plan plan(TrainingDataOptions options, FeatureRegistry registry) throws IOException {
    List<TrainingView> views = new ArrayList<>();
    Set<String> entityFields = new LinkedHashSet<>();
    for (String name : options.getFeatures()) {
      TrainingView view = TrainingView.of(registry, name.trim());
      if (views.stream().anyMatch(other -> other.name().equals(view.name()))) {
        throw new IllegalArgumentException("--features names " + view.name() + " twice");
      }
      views.add(view);
      entityFields.add(view.entityField());
    }
    if (views.isEmpty()) {
      throw new IllegalArgumentException("--features names no view; views: " + TrainingView.names(registry));
    }
    Spine spine = Spine.describe(options.getSpine(), entityFields);
    Schema.Builder schema = Schema.builder();
    Set<String> names = new LinkedHashSet<>();
    for (Spine.Column column : spine.columns()) {
      schema.addNullableField(column.name(), column.type());
      names.add(column.name());
    }
    for (TrainingView view : views) {
      for (FeatureTable.Column column : view.columns()) {
        String name = view.outputColumn(column);
        if (!names.add(name)) {
          throw new IllegalArgumentException("the spine already has a column " + name + ", which " + view.name()
              + " would write: rename it in the spine");
        }
        schema.addNullableField(name, FeatureRows.schemaOf(view.table()).getField(column.name()).getType());
      }
    }
    String offlineStore = Paths.get(options.getOfflineStore()).toAbsolutePath().normalize().toString();
    for (TrainingView view : views) {
      String directory = historyDirectory(view);
      if (OfflineFiles.files(Paths.get(offlineStore, directory)).isEmpty()) {
        throw new IllegalArgumentException("no offline " + (view.source() == TrainingView.Source.HISTORY
            ? "history of " + view.name() : "raw events for " + view.name()) + " under "
            + Paths.get(offlineStore, directory) + ": run the feature over events first (./clickstream run "
            + view.definition().name() + " --input=... --offlineStore=" + options.getOfflineStore()
            + "), or point --offlineStore at the store that holds it");
      }
    }
    Long maxAge = options.getMaxAge() == null ? null : options.getMaxAge().toDuration().getMillis();
    String output = Paths.get(options.getOutput()).toAbsolutePath().normalize().toString();
    return new Plan(spine, List.copyOf(views), schema.build(), offlineStore, maxAge, output);
  }

  /** The offline directory a view reads: its table's history, or the raw events. */
  static String historyDirectory(TrainingView view) {
    return view.source() == TrainingView.Source.HISTORY ? view.table().name() : WriteOfflineEvents.DIRECTORY;
  }

  /** Adds the job of {@code plan} to {@code pipeline}; its parts land in {@link Plan#partsDirectory()}. */
  public static void build(Pipeline pipeline, Plan plan) {
    Schema schema = plan.schema();
    PCollection<KV<Long, Row>> rows =
        pipeline
            .apply("SpineFile", Create.of(plan.spine().path()))
            .apply("ReadSpine", ParDo.of(new ReadSpineFn(plan.spine(), schema)))
            .setCoder(KvCoder.of(VarLongCoder.of(), RowCoder.of(schema)));
    PCollection<ClickEvent> events = null;
    Map<String, PCollection<KV<String, Row>>> selected = new LinkedHashMap<>();
    Map<String, List<TrainingView>> byEntity = new LinkedHashMap<>();
    for (TrainingView view : plan.views()) {
      byEntity.computeIfAbsent(view.entityField(), unused -> new ArrayList<>()).add(view);
      if (view.source() != TrainingView.Source.HISTORY && !selected.containsKey(view.rolling().name())) {
        if (events == null) {
          events = pipeline.apply("ReadOfflineEvents",
              ReadOfflineEvents.from(List.of(glob(plan.offlineStore(), WriteOfflineEvents.DIRECTORY))));
        }
        selected.put(view.rolling().name(), selectedEvents(events, view.rolling()));
      }
    }
    for (Map.Entry<String, List<TrainingView>> group : byEntity.entrySet()) {
      rows = rows.apply("JoinPer_" + group.getKey(), new JoinViews(plan, group.getKey(), group.getValue(), selected));
    }
    rows.apply("WriteInSpineOrder", TrainingSetFiles.writeParts(plan));
  }

  /**
   * The events {@code rolling} aggregates, keyed by its entity: selected by the stream's own step, so that an event
   * the stream skips (another type, an empty or missing entity) is skipped here too and the on-demand columns equal
   * the online on-demand view.
   */
  private static PCollection<KV<String, Row>> selectedEvents(
      PCollection<ClickEvent> events, WindowedAggregation rolling) {
    return events
        .apply("SelectEvents_" + rolling.name(), SelectFeatureEvents.of(rolling))
        .apply("KeyEvents_" + rolling.name(), ParDo.of(new EventRowFn()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), RowCoder.of(EVENT)));
  }

  /** The partitions of one offline directory; hidden directories (Beam's unfinished writes) never match. */
  static String glob(String offlineStore, String directory) {
    return offlineStore + "/" + directory + "/date=*/*.parquet";
  }

  /** The spine, in file order, each row numbered and widened to the output's schema. */
  private static final class ReadSpineFn extends DoFn<String, KV<Long, Row>> {
    private final Spine spine;
    private final Schema schema;
    private final Counter spineRows = Metrics.counter(NAMESPACE, "spine_rows");

    ReadSpineFn(Spine spine, Schema schema) {
      this.spine = spine;
      this.schema = schema;
    }

    @ProcessElement
    public void processElement(OutputReceiver<KV<Long, Row>> out) throws IOException {
      long[] position = {0};
      spine.read(values -> {
        Object[] widened = Arrays.copyOf(values, schema.getFieldCount());
        out.output(KV.of(position[0]++, Row.withSchema(schema).attachValues(Arrays.asList(widened))));
        spineRows.inc();
      });
    }
  }

  /** The views of one entity field joined onto the spine rows. */
  private static final class JoinViews extends PTransform<PCollection<KV<Long, Row>>, PCollection<KV<Long, Row>>> {
    private final Plan plan;
    private final String entityField;
    private final List<TrainingView> views;
    /** Per rolling feature, the events it aggregates. */
    private final Map<String, PCollection<KV<String, Row>>> selectedEvents;

    JoinViews(Plan plan, String entityField, List<TrainingView> views,
        Map<String, PCollection<KV<String, Row>>> selectedEvents) {
      this.plan = plan;
      this.entityField = entityField;
      this.views = views;
      this.selectedEvents = selectedEvents;
    }

    @Override
    public PCollection<KV<Long, Row>> expand(PCollection<KV<Long, Row>> rows) {
      Schema schema = plan.schema();
      KeyedPCollectionTuple<String> grouped =
          KeyedPCollectionTuple.of(SPINE,
              rows.apply("KeyByEntity", ParDo.of(new KeyByEntityFn(schema.indexOf(entityField))))
                  .setCoder(KvCoder.of(StringUtf8Coder.of(), KvCoder.of(VarLongCoder.of(), RowCoder.of(schema)))));
      List<TupleTag<Row>> tags = new ArrayList<>();
      List<AsOfJoin> joins = new ArrayList<>();
      for (TrainingView view : views) {
        TupleTag<Row> tag = new TupleTag<>(view.name());
        tags.add(tag);
        AsOfJoin join = AsOfJoin.of(view);
        joins.add(plan.maxAgeMillis() == null ? join : join.withMaxAge(plan.maxAgeMillis()));
        grouped = grouped.and(tag, source(rows.getPipeline(), view));
      }
      return grouped
          .apply("GroupByEntity", CoGroupByKey.create())
          .apply("AsOfJoin", ParDo.of(new JoinFn(schema, entityField, tags, joins)))
          .setCoder(KvCoder.of(VarLongCoder.of(), RowCoder.of(schema)));
    }

    /** A view's history rows, or the raw events it aggregates, keyed by entity. */
    private PCollection<KV<String, Row>> source(Pipeline pipeline, TrainingView view) {
      if (view.source() == TrainingView.Source.HISTORY) {
        Schema table = FeatureRows.schemaOf(view.table());
        return pipeline
            .apply("ReadHistory_" + view.name(),
                ParquetIO.read(WriteOfflineFiles.recordSchema(view.table()))
                    .from(glob(plan.offlineStore(), view.table().name())))
            .apply("KeyHistory_" + view.name(), ParDo.of(new HistoryRowFn(table)))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), RowCoder.of(table)));
      }
      return selectedEvents.get(view.rolling().name());
    }
  }

  private static final class KeyByEntityFn extends DoFn<KV<Long, Row>, KV<String, KV<Long, Row>>> {
    private final int entity;

    KeyByEntityFn(int entity) {
      this.entity = entity;
    }

    @ProcessElement
    public void processElement(@Element KV<Long, Row> row, OutputReceiver<KV<String, KV<Long, Row>>> out) {
      Object key = row.getValue().getValue(entity);
      // A Parquet spine can hold an empty key, which no event or row has: nulls, as for a missing one.
      out.output(KV.of(key == null || key.toString().isEmpty() ? NO_ENTITY : key.toString(), row));
    }
  }

  /** An offline record as the table's row, keyed by its entity. */
  private static final class HistoryRowFn extends DoFn<GenericRecord, KV<String, Row>> {
    private final Schema table;

    HistoryRowFn(Schema table) {
      this.table = table;
    }

    @ProcessElement
    public void processElement(@Element GenericRecord record, OutputReceiver<KV<String, Row>> out) {
      Object[] values = new Object[table.getFieldCount()];
      for (int i = 0; i < values.length; i++) {
        Object value = record.get(table.getField(i).getName());
        values[i] = value instanceof CharSequence ? value.toString() : value;
      }
      out.output(KV.of(values[0].toString(), Row.withSchema(table).attachValues(Arrays.asList(values))));
    }
  }

  /** A selected event as the join reads it, keyed by its entity. */
  private static final class EventRowFn extends DoFn<FeatureEvent, KV<String, Row>> {
    @ProcessElement
    public void processElement(@Element FeatureEvent event, OutputReceiver<KV<String, Row>> out) {
      out.output(KV.of(event.entity(), Row.withSchema(EVENT).addValues(event.timestamp(), event.value()).build()));
    }
  }

  /** One entity's spine rows, each given every view's values as of its timestamp. */
  private static final class JoinFn extends DoFn<KV<String, CoGbkResult>, KV<Long, Row>> {
    private final Schema schema;
    private final int timestamp;
    private final List<TupleTag<Row>> tags;
    private final List<AsOfJoin> joins;
    private final int[] firstColumns;
    private final Counter[] found;
    private final Counter[] missing;

    JoinFn(Schema schema, String entityField, List<TupleTag<Row>> tags, List<AsOfJoin> joins) {
      this.schema = schema;
      this.timestamp = schema.indexOf(Spine.TIMESTAMP);
      this.tags = tags;
      this.joins = joins;
      this.firstColumns = new int[joins.size()];
      this.found = new Counter[joins.size()];
      this.missing = new Counter[joins.size()];
      for (int i = 0; i < joins.size(); i++) {
        TrainingView view = joins.get(i).view();
        firstColumns[i] = schema.indexOf(view.outputColumn(view.columns().get(0)));
        found[i] = Metrics.counter(NAMESPACE, view.name() + "_found");
        missing[i] = Metrics.counter(NAMESPACE, view.name() + "_null");
      }
    }

    @ProcessElement
    public void processElement(@Element KV<String, CoGbkResult> group, OutputReceiver<KV<Long, Row>> out) {
      Iterable<KV<Long, Row>> spineRows = group.getValue().getAll(SPINE);
      if (!spineRows.iterator().hasNext()) {
        return; // history of an entity the spine does not ask about
      }
      boolean noEntity = group.getKey().equals(NO_ENTITY);
      AsOfJoin.Answers[] answers = new AsOfJoin.Answers[joins.size()];
      for (int i = 0; i < joins.size() && !noEntity; i++) {
        answers[i] = answers(joins.get(i), group.getValue().getAll(tags.get(i)));
      }
      for (KV<Long, Row> spineRow : spineRows) {
        List<Object> values = new ArrayList<>(spineRow.getValue().getValues());
        long time = (Long) values.get(timestamp);
        for (int i = 0; i < answers.length; i++) {
          Object[] answer = answers[i] == null ? null : answers[i].at(time);
          (answer == null ? missing[i] : found[i]).inc();
          for (int c = 0; answer != null && c < answer.length; c++) {
            values.set(firstColumns[i] + c, answer[c]);
          }
        }
        out.output(KV.of(spineRow.getKey(), Row.withSchema(schema).attachValues(values)));
      }
    }

    private static AsOfJoin.Answers answers(AsOfJoin join, Iterable<Row> rows) {
      if (join.view().source() == TrainingView.Source.HISTORY) {
        List<Object[]> history = new ArrayList<>();
        rows.forEach(row -> history.add(row.getValues().toArray()));
        return join.over(history, null);
      }
      NavigableMap<Long, Partial> events = new TreeMap<>();
      for (Row event : rows) {
        long time = event.getInt64(0);
        events.merge(time, Partial.of(time, event.getDouble(1)), Partial::merge);
      }
      return join.over(null, events);
    }
  }
}
