package dev.clickstream.offline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.transforms.OfflineFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineRunner;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** Builds a training set the way the command does (plan, parts, job, assembly) and reads it back. */
final class TrainingDataTesting {
  private TrainingDataTesting() {}

  /** The training set of {@code spine} (CSV lines) over {@code dir/offline}, as Parquet records in file order. */
  static List<GenericRecord> build(Path dir, List<String> spine, String output,
      Class<? extends PipelineRunner<?>> runner, String... views) throws Exception {
    Path spineFile = dir.resolve("spine.csv");
    Files.write(spineFile, spine, StandardCharsets.UTF_8);
    return build(dir, spineFile, FeatureDefinitions.REGISTRY, output, runner, views);
  }

  /** The training set of the spine file {@code spineFile} (CSV or Parquet) over {@code registry}'s views. */
  static List<GenericRecord> build(Path dir, Path spineFile, FeatureRegistry registry, String output,
      Class<? extends PipelineRunner<?>> runner, String... views) throws Exception {
    TrainingDataOptions options = PipelineOptionsFactory.as(TrainingDataOptions.class);
    options.setRunner(runner);
    options.as(FlinkPipelineOptions.class).setFlinkMaster("[local]");
    options.as(FlinkPipelineOptions.class).setParallelism(2);
    options.setSpine(spineFile.toString());
    options.setFeatures(List.of(views));
    options.setOutput(dir.resolve(output).toString());
    options.setOfflineStore(dir.resolve("offline").toString());
    TrainingData.Plan plan = TrainingData.plan(options, registry);
    TrainingSetFiles.prepare(plan);
    Pipeline pipeline = Pipeline.create(options);
    TrainingData.build(pipeline, plan);
    assertThat(pipeline.run().waitUntilFinish(), equalTo(PipelineResult.State.DONE));
    long rows = TrainingSetFiles.assemble(plan);
    assertThat(Files.exists(plan.partsDirectory()), equalTo(false));
    List<GenericRecord> records = OfflineFiles.readFile(dir.resolve(output));
    assertThat(rows, equalTo((long) records.size()));
    return records;
  }

  /** A record's values by column, text as Java strings. */
  static Map<String, Object> values(GenericRecord record) {
    Map<String, Object> values = new LinkedHashMap<>();
    for (org.apache.avro.Schema.Field field : record.getSchema().getFields()) {
      Object value = record.get(field.name());
      values.put(field.name(), value instanceof CharSequence ? value.toString() : value);
    }
    return values;
  }
}
