package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.schemas.DeadLetter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class WriteDeadLettersTest {
  private static final DeadLetter NOT_JSON =
      DeadLetter.newBuilder()
          .setStage("ParseEvents")
          .setReason("malformed_json")
          .setDetail("not valid JSON: Unrecognized token 'oops'")
          .setRawPayload("oops")
          .setFailedAt(1_709_294_400_001L)
          .build();
  private static final DeadLetter MULTI_LINE_PAYLOAD =
      DeadLetter.newBuilder()
          .setStage("ParseEvents")
          .setReason("missing_field")
          .setDetail("required field 'user_id' is missing")
          .setRawPayload("{\"event_id\":\"e-1\",\n\"timestamp\":1}")
          .setFailedAt(1_709_294_400_002L)
          .build();

  @Test
  void writesOneJsonLinePerDeadLetter(TestPipeline pipeline, @TempDir Path dir) throws IOException {
    Path file = dir.resolve("dead-letters.jsonl");
    pipeline
        .apply(Create.of(NOT_JSON, MULTI_LINE_PAYLOAD).withCoder(AvroCoder.of(DeadLetter.class)))
        .apply(WriteDeadLetters.toFile(file.toString()));

    pipeline.run().waitUntilFinish();

    assertThat(
        Files.readAllLines(file, StandardCharsets.UTF_8),
        containsInAnyOrder(
            "{\"stage\":\"ParseEvents\",\"reason\":\"malformed_json\","
                + "\"detail\":\"not valid JSON: Unrecognized token 'oops'\",\"raw_payload\":\"oops\","
                + "\"failed_at\":1709294400001}",
            "{\"stage\":\"ParseEvents\",\"reason\":\"missing_field\","
                + "\"detail\":\"required field 'user_id' is missing\","
                + "\"raw_payload\":\"{\\\"event_id\\\":\\\"e-1\\\",\\n\\\"timestamp\\\":1}\","
                + "\"failed_at\":1709294400002}"));
    assertThat(filesIn(dir), contains("dead-letters.jsonl"));
  }

  @Test
  void writesAnEmptyFileWhenThereAreNoDeadLetters(TestPipeline pipeline, @TempDir Path dir) throws IOException {
    Path file = dir.resolve("dead-letters.jsonl");
    pipeline
        .apply(Create.empty(AvroCoder.of(DeadLetter.class)))
        .apply(WriteDeadLetters.toFile(file.toString()));

    pipeline.run().waitUntilFinish();

    assertThat(Files.readAllLines(file, StandardCharsets.UTF_8), empty());
    assertThat(Files.size(file), equalTo(0L));
    assertThat(filesIn(dir), contains("dead-letters.jsonl"));
  }

  @Test
  void rejectsAMissingOrBlankPath() {
    NullPointerException missing = assertThrows(NullPointerException.class, () -> WriteDeadLetters.toFile(null));
    assertThat(missing.getMessage(), equalTo("path"));
    IllegalArgumentException blank =
        assertThrows(IllegalArgumentException.class, () -> WriteDeadLetters.toFile("  "));
    assertThat(blank.getMessage(), equalTo("dead-letter path must not be blank"));
  }

  /** Everything left in {@code dir}, temporary files included. */
  private static List<String> filesIn(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(path -> path.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }
}
