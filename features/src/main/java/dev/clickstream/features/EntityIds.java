package dev.clickstream.features;

/**
 * The one rule for ids (entity keys, event ids, types), applied alike by the pipelines to every event they read and
 * by the server to every id it is asked for, so that what one accepts the other can store and find.
 *
 * <p>An id holds 1 to {@value #MAX_LENGTH} UTF-16 characters (the online store's keys are {@code VARCHAR(256)}),
 * not all of them white space, and none of them:
 *
 * <ul>
 *   <li>a control character (U+0000 to U+001F, U+007F to U+009F): PostgreSQL refuses a NUL in text (SQLState
 *       22021), and the others make ids that print the same but differ;
 *   <li>half of a surrogate pair without its other half: it has no UTF-8 encoding, so stores and files would
 *       change it;
 *   <li>U+FFFD, the replacement character: it is what decoders put in place of bytes that are not UTF-8, so two
 *       different undecodable ids would collide into one.
 * </ul>
 */
public final class EntityIds {
  /** Longest id, in UTF-16 characters. */
  public static final int MAX_LENGTH = 256;

  private static final char REPLACEMENT_CHARACTER = '\uFFFD';

  private EntityIds() {}

  /** Whether {@code id} is an id by the class's rule. */
  public static boolean isValid(String id) {
    return problem(id) == null;
  }

  /**
   * What is wrong with {@code id}, as a phrase that completes "the id ...", for example "is blank"; null when it is
   * a valid id.
   */
  public static String problem(String id) {
    if (id == null) {
      return "is missing";
    }
    if (id.isEmpty() || id.isBlank()) {
      return "is blank";
    }
    if (id.length() > MAX_LENGTH) {
      return "holds " + id.length() + " characters, more than the " + MAX_LENGTH + " allowed";
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (Character.isISOControl(c)) {
        return String.format("holds the control character U+%04X at index %d", (int) c, i);
      }
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < id.length() && Character.isLowSurrogate(id.charAt(i + 1))) {
          i++;
          continue;
        }
        return String.format("holds a lone surrogate U+%04X at index %d", (int) c, i);
      }
      if (Character.isLowSurrogate(c)) {
        return String.format("holds a lone surrogate U+%04X at index %d", (int) c, i);
      }
      if (c == REPLACEMENT_CHARACTER) {
        return "holds U+FFFD at index " + i + ", the mark of bytes that were not valid UTF-8";
      }
    }
    return null;
  }
}
