package dev.clickstream.serving;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.features.EntityIds;
import io.javalin.http.BadRequestResponse;
import io.javalin.http.ContentTooLargeResponse;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks entity ids from a request: a path parameter, or the JSON body of a batch request, by the one id rule of
 * {@link EntityIds} that the pipelines apply too.
 *
 * <p>A batch body is parsed as it streams in, never read whole first: reading stops with a 413 at {@value
 * #MAX_BODY_BYTES} bytes, whatever the request's {@code Content-Length} says or when it has none (a chunked body),
 * and with a 400 at the first id past {@value #MAX_IDS}.
 */
final class UserIds {
  /** Most ids in one batch request, duplicates included. */
  static final int MAX_IDS = 1000;
  /** Longest batch request body, in bytes; also the server's limit for any request body. */
  static final int MAX_BODY_BYTES = 1_000_000;

  static final String FIELD = "user_ids";
  /** What a batch request body is. */
  static final String BODY =
      "a JSON array of 1 to " + MAX_IDS + " user ids, like [\"u1\",\"u2\"], or an object {\"" + FIELD
          + "\": [\"u1\",\"u2\"]}";
  static final String EXPECTED = "expected " + BODY;
  /** What an id may be, after what was wrong with one. */
  static final String RULE =
      "ids are 1 to " + EntityIds.MAX_LENGTH + " characters, not all white space, without control characters,"
          + " lone surrogates or U+FFFD";

  private final ObjectMapper mapper;

  UserIds(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /**
   * The ids of a batch request body, in order, or a 400 that says what was wrong and what is expected; a 413 when
   * the body has more than {@value #MAX_BODY_BYTES} bytes, at once when {@code contentLength} (-1 when unknown)
   * says so. Reads {@code body} only as far as it needs to.
   */
  List<String> parse(InputStream body, long contentLength) {
    if (contentLength > MAX_BODY_BYTES) {
      throw tooLarge();
    }
    // Strictly UTF-8: a decoder that replaced bad bytes with U+FFFD would make different ids collide.
    CharsetDecoder utf8 =
        UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    try (JsonParser parser = mapper.getFactory().createParser(new InputStreamReader(new Capped(body), utf8))) {
      return parse(parser);
    } catch (CharacterCodingException e) {
      throw new BadRequestResponse("request body is not valid UTF-8: " + EXPECTED + ", in UTF-8");
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new BadRequestResponse("request body is not valid JSON" + where + ": " + EXPECTED);
    } catch (BodyTooLarge e) {
      throw tooLarge();
    } catch (IOException e) {
      throw new BadRequestResponse("cannot read the request body: it ended early or the client went away");
    }
  }

  private static ContentTooLargeResponse tooLarge() {
    return new ContentTooLargeResponse(
        "request body is larger than " + MAX_BODY_BYTES + " bytes: send at most " + MAX_IDS + " user ids per request");
  }

  private static List<String> parse(JsonParser parser) throws IOException {
    JsonToken root = parser.nextToken();
    if (root == null) {
      throw new BadRequestResponse("request body is empty: " + EXPECTED);
    }
    List<String> ids;
    if (root == JsonToken.START_ARRAY) {
      ids = ids(parser);
    } else if (root == JsonToken.START_OBJECT) {
      ids = idsField(parser);
    } else {
      throw new BadRequestResponse("request body is " + describe(root) + ": " + EXPECTED);
    }
    if (parser.nextToken() != null) {
      JsonLocation at = parser.currentTokenLocation();
      throw new BadRequestResponse("request body is not valid JSON at line " + at.getLineNr() + ", column "
          + at.getColumnNr() + ": " + EXPECTED);
    }
    return ids;
  }

  /** The ids of {@code {"user_ids": [...]}}, the parser past its opening brace; no other field is allowed. */
  private static List<String> idsField(JsonParser parser) throws IOException {
    List<String> ids = null;
    List<String> unknown = new ArrayList<>();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if (!name.equals(FIELD)) {
        unknown.add(name);
        parser.skipChildren();
      } else if (ids != null) {
        throw new BadRequestResponse("request body has \"" + FIELD + "\" twice: " + EXPECTED);
      } else if (value != JsonToken.START_ARRAY) {
        throw new BadRequestResponse("\"" + FIELD + "\" is " + describe(value) + ", not an array: " + EXPECTED);
      } else {
        ids = ids(parser);
      }
    }
    if (!unknown.isEmpty()) {
      throw new BadRequestResponse("request body has unknown fields " + unknown + ": " + EXPECTED);
    }
    if (ids == null) {
      throw new BadRequestResponse("request body has no \"" + FIELD + "\": " + EXPECTED);
    }
    return ids;
  }

  /** The ids of an array, the parser past its opening bracket; stops at the first id past {@link #MAX_IDS}. */
  private static List<String> ids(JsonParser parser) throws IOException {
    List<String> ids = new ArrayList<>();
    for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
      if (ids.size() == MAX_IDS) {
        throw new BadRequestResponse(
            "more than the " + MAX_IDS + " user ids allowed in one request: split the request");
      }
      String what = "user id at index " + ids.size();
      if (token != JsonToken.VALUE_STRING) {
        throw new BadRequestResponse(what + " is " + describe(token) + ": user ids are JSON strings, like \"u1\"");
      }
      ids.add(check(parser.getText(), what));
    }
    if (ids.isEmpty()) {
      throw new BadRequestResponse("no user ids given: " + EXPECTED);
    }
    return ids;
  }

  /** {@code id} if it can name an entity ({@link EntityIds}); otherwise a 400 naming {@code what}. */
  static String check(String id, String what) {
    String problem = EntityIds.problem(id);
    if (problem != null) {
      throw new BadRequestResponse(what + " " + problem + ": " + RULE);
    }
    return id;
  }

  private static String describe(JsonToken token) {
    switch (token) {
      case START_ARRAY:
        return "an array";
      case START_OBJECT:
        return "an object";
      case VALUE_NULL:
        return "null";
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "a number";
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "a boolean";
      case VALUE_STRING:
        return "a string";
      default:
        return token.asString() == null ? token.name() : "'" + token.asString() + "'";
    }
  }

  /** Past {@link #MAX_BODY_BYTES}. */
  private static final class BodyTooLarge extends IOException {
    private static final long serialVersionUID = 1L;
  }

  /** A body that fails with {@link BodyTooLarge} once more than {@link #MAX_BODY_BYTES} bytes were read from it. */
  private static final class Capped extends FilterInputStream {
    private long remaining = MAX_BODY_BYTES;

    Capped(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      // One byte more than allowed is asked for, so that a body of exactly the limit is not refused.
      int read = super.read(buffer, offset, (int) Math.min(length, remaining + 1));
      if (read > 0) {
        remaining -= read;
        if (remaining < 0) {
          throw new BodyTooLarge();
        }
      }
      return read;
    }

    @Override
    public long skip(long n) throws IOException {
      return Math.max(0, read(new byte[(int) Math.min(n, 8192)]));
    }
  }
}
