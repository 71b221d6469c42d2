package dev.clickstream.serving;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import io.javalin.http.BadRequestResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/** Checks entity ids from a request: a path parameter, or the JSON body of a batch request. */
final class UserIds {
  /** Most ids in one batch request, duplicates included. */
  static final int MAX_IDS = 1000;

  static final String FIELD = "user_ids";
  /** What a batch request body is. */
  static final String BODY =
      "a JSON array of 1 to " + MAX_IDS + " user ids, like [\"u1\",\"u2\"], or an object {\"" + FIELD
          + "\": [\"u1\",\"u2\"]}";
  static final String EXPECTED = "expected " + BODY;

  private final ObjectReader reader;

  UserIds(ObjectMapper mapper) {
    this.reader = mapper.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  }

  /** The ids of a batch request body, in order, or a 400 that says what was wrong and what is expected. */
  List<String> parse(String body) {
    if (body == null || body.isBlank()) {
      throw new BadRequestResponse("request body is empty: " + EXPECTED);
    }
    JsonNode root;
    try {
      root = reader.readTree(body);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new BadRequestResponse("request body is not valid JSON" + where + ": " + EXPECTED);
    }
    JsonNode ids;
    if (root.isArray()) {
      ids = root;
    } else if (root.isObject()) {
      List<String> unknown = new ArrayList<>();
      for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!name.equals(FIELD)) {
          unknown.add(name);
        }
      }
      if (!unknown.isEmpty()) {
        throw new BadRequestResponse("request body has unknown fields " + unknown + ": " + EXPECTED);
      }
      ids = root.get(FIELD);
      if (ids == null) {
        throw new BadRequestResponse("request body has no \"" + FIELD + "\": " + EXPECTED);
      }
      if (!ids.isArray()) {
        throw new BadRequestResponse("\"" + FIELD + "\" is " + describe(ids) + ", not an array: " + EXPECTED);
      }
    } else {
      throw new BadRequestResponse("request body is " + describe(root) + ": " + EXPECTED);
    }
    if (ids.isEmpty()) {
      throw new BadRequestResponse("no user ids given: " + EXPECTED);
    }
    if (ids.size() > MAX_IDS) {
      throw new BadRequestResponse(
          ids.size() + " user ids given, more than the " + MAX_IDS + " allowed in one request: split the request");
    }
    List<String> parsed = new ArrayList<>(ids.size());
    for (int i = 0; i < ids.size(); i++) {
      JsonNode id = ids.get(i);
      String what = "user id at index " + i;
      if (!id.isTextual()) {
        throw new BadRequestResponse(what + " is " + describe(id) + ": user ids are JSON strings, like \"u1\"");
      }
      parsed.add(check(id.textValue(), what));
    }
    return parsed;
  }

  /** {@code id} if it can name an entity; otherwise a 400 naming {@code what}. */
  static String check(String id, String what) {
    if (id.isBlank()) {
      throw new BadRequestResponse(what + " is blank: user ids are non-blank strings");
    }
    for (int i = 0; i < id.length(); i++) {
      if (Character.isISOControl(id.charAt(i))) {
        throw new BadRequestResponse(what + " holds a control character: user ids are printable text");
      }
    }
    return id;
  }

  private static String describe(JsonNode node) {
    switch (node.getNodeType()) {
      case ARRAY:
        return "an array";
      case OBJECT:
        return "an object";
      case NULL:
        return "null";
      case NUMBER:
        return "a number";
      case BOOLEAN:
        return "a boolean";
      case STRING:
        return "a string";
      default:
        return node.getNodeType().name().toLowerCase(Locale.ROOT);
    }
  }
}
