package dev.clickstream.serving;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes a feature response's JSON straight into the response stream. {@code ctx.json} makes a String, then its
 * bytes, then copies them through a fresh 4 KB buffer: about 8 KB of garbage per lookup, half the server's
 * allocation in a profile at 7,000 lookups/s (docs/benchmarks.md). Jackson writes into its own recycled buffers
 * instead; the stream is left open, so Javalin still completes the response (and logs it) as for any other result.
 */
final class JsonBody {
  private static final Map<ObjectMapper, ObjectWriter> WRITERS = new ConcurrentHashMap<>();

  private JsonBody() {}

  /** Answers {@code body} as JSON with the server's mapper, as {@code ctx.json(body)} would. */
  static void write(Context ctx, Object body) {
    ObjectMapper mapper = ((JavalinJackson) ctx.jsonMapper()).getMapper();
    ObjectWriter writer =
        WRITERS.computeIfAbsent(mapper, m -> m.writer().without(JsonGenerator.Feature.AUTO_CLOSE_TARGET));
    ctx.contentType(ContentType.APPLICATION_JSON);
    try {
      writer.writeValue(ctx.outputStream(), body);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the response", e);
    }
  }
}
