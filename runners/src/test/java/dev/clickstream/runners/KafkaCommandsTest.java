package dev.clickstream.runners;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.clickstream.broker.EmbeddedKafkaBroker;
import dev.clickstream.broker.TopicReader;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import dev.clickstream.transforms.ClickEventDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.avro.SchemaNormalization;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generate --kafka, replay and run --source=kafka against a real broker, as a user calls them. */
class KafkaCommandsTest {
  private static EmbeddedKafkaBroker broker;
  private final Launcher launcher = new Launcher();

  @BeforeAll
  static void startBroker() throws Exception {
    broker = EmbeddedKafkaBroker.start(0);
  }

  @AfterAll
  static void stopBroker() throws Exception {
    broker.close();
    dev.clickstream.store.ConnectionPools.closeAll();
  }

  @Test
  void replaySendsEveryLineAsItIsAndTheClickCountsFeatureReadsThem(@TempDir Path dir) throws Exception {
    String valid1 = "{\"event_id\":\"e1\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":1000}";
    String valid2 = "{\"event_id\":\"e2\",\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":2000}";
    String broken = "{\"event_id\":\"e3\",\"user_id\":";
    Path file = dir.resolve("events.jsonl");
    Files.writeString(file, valid1 + "\r\n" + broken + "\n\n" + valid2, StandardCharsets.UTF_8);

    assertThat(launcher.run("replay", "--input=" + file, "--kafka=" + broker.bootstrapServers(), "--topic=replayed"),
        equalTo(0));
    assertThat(launcher.stdout(), containsString("Replayed 4 records to replayed"));
    List<ConsumerRecord<byte[], byte[]>> records = read("replayed", 4);
    List<String> values = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      values.add(new String(record.value(), StandardCharsets.UTF_8));
      keys.add(record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8));
    }
    assertThat(values, equalTo(List.of(valid1, broken, "", valid2)));
    assertThat(keys, equalTo(java.util.Arrays.asList("u1", null, null, "u1")));

    String store = StoreFixtures.freshStoreUrl("h2");
    assertThat(
        launcher.run("run", "click-counts", "--runner=DirectRunner", "--source=kafka",
            "--bootstrapServers=" + broker.bootstrapServers(), "--topic=replayed", "--deadLetterTopic=replayed_dlq",
            "--maxRecords=4", "--onlineStore=" + store),
        equalTo(0));
    Map<String, Object> row = OnlineStore.forUrl(store).read(FeatureTables.CLICK_COUNTS, "u1").orElseThrow();
    assertThat(List.of(row.get("event_time"), row.get("click_count_1_min")), equalTo(List.of(2000L, 2L)));
    assertThat(launcher.stdout(), containsString("Dead letters: kafka topic replayed_dlq"));
    assertThat(read("replayed_dlq", 2).size(), equalTo(2));
  }

  @Test
  void generateProducesEveryRecordIncludingTheMalformedOnes() {
    assertThat(
        launcher.run("generate", "--kafka=" + broker.bootstrapServers(), "--topic=generated", "--events=500",
            "--malformedRatio=0.1", "--format=json"),
        equalTo(0));
    List<ConsumerRecord<byte[], byte[]>> records = read("generated", 500);
    assertThat(records.size(), equalTo(500));
    long malformed = records.stream().filter(record -> record.key() == null).count();
    assertThat(launcher.stdout(),
        containsString("Produced 500 records (" + malformed + " malformed)"));
  }

  @Test
  void generateWritesAvroInTheSingleObjectEncoding() throws Exception {
    assertThat(
        launcher.run("generate", "--kafka=" + broker.bootstrapServers(), "--topic=generated_avro", "--events=20",
            "--format=avro"),
        equalTo(0));
    List<ConsumerRecord<byte[], byte[]>> records = read("generated_avro", 20);
    // C3 01, then the compiled schema's fingerprint, little-endian.
    byte[] header = ByteBuffer.allocate(10).put((byte) 0xC3).put((byte) 0x01).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(SchemaNormalization.parsingFingerprint64(ClickEvent.getClassSchema())).array();
    List<String> seen = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      ClickEvent event = ClickEventDecoder.decode(record.value(), ClickEventDecoder.Format.AVRO);
      seen.add(Arrays.equals(Arrays.copyOf(record.value(), 10), header)
          + " " + event.getUserId().toString().equals(new String(record.key(), StandardCharsets.UTF_8)));
    }
    assertThat(seen, equalTo(Collections.nCopies(20, "true true")));
  }

  @Test
  void mistakesAreExplained() {
    assertThat(launcher.run("generate", "--kafka=" + broker.bootstrapServers(), "--output=x.avro"), equalTo(2));
    assertThat(launcher.stderr(),
        containsString("with --kafka, --output records JSON lines; use a .jsonl file"));
    assertThat(launcher.run("generate", "--kafka=" + broker.bootstrapServers(), "--format=xml"), equalTo(2));
    assertThat(launcher.stderr(), containsString("--format=xml is not supported: use avro or json"));
    assertThat(launcher.run("replay", "--kafka=" + broker.bootstrapServers()), equalTo(2));
    assertThat(launcher.stderr(), containsString("--input=FILE and --kafka=HOST:PORT are required"));
    assertThat(launcher.run("run", "ctr", "--source=pulsar"), equalTo(2));
    assertThat(launcher.stderr(), containsString("--source=pulsar is not supported: use file or kafka"));
  }

  private static List<ConsumerRecord<byte[], byte[]>> read(String topic, int expected) {
    return TopicReader.readFromStart(broker.bootstrapServers(), topic, expected, Duration.ofSeconds(30));
  }
}
