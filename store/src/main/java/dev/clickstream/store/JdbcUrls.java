package dev.clickstream.store;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Credentials in JDBC URLs: hides them wherever a URL is printed or logged, and takes the password out of a URL
 * that must travel where others can read it (a Flink job's options are served by its REST API).
 *
 * <p>A URL can carry a credential in three forms, all handled: a query parameter ({@code ?password=...}, {@code
 * &sslpassword=...}, {@code &keyStorePassword=...}: any parameter whose name holds "password", "secret" or
 * "token", in any case), an H2 setting ({@code ;PASSWORD=...}), and user information before the host ({@code
 * //user:password@host}).
 */
public final class JdbcUrls {
  /** What a hidden value is shown as. */
  public static final String MASK = "***";

  private static final Pattern SECRET_PARAMETER =
      Pattern.compile("(?i)([?&;][^=&;?#]*(?:password|secret|token)[^=&;?#]*=)[^&;#]*");
  private static final Pattern USER_INFO = Pattern.compile("(//[^/@:?;]*:)[^/@?;]*@");
  /** The connection password itself: {@code password=}, not {@code sslpassword=} or {@code keyStorePassword=}. */
  private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)([?&;])password=([^&;#]*)");

  private JdbcUrls() {}

  /** {@code url} with every credential it carries replaced by {@value #MASK}; null stays null. */
  public static String redacted(String url) {
    if (url == null) {
      return null;
    }
    String redacted = SECRET_PARAMETER.matcher(url).replaceAll("$1" + Matcher.quoteReplacement(MASK));
    return USER_INFO.matcher(redacted).replaceAll("$1" + Matcher.quoteReplacement(MASK) + "@");
  }

  /** The connection password {@code url} carries as a {@code password=} parameter or setting, if any. */
  public static Optional<String> password(String url) {
    Matcher matcher = PASSWORD_PARAMETER.matcher(url);
    return matcher.find() ? Optional.of(matcher.group(2)) : Optional.empty();
  }

  /**
   * {@code url} without its {@code password=} parameter or setting; the other parameters keep their order, and a
   * first parameter that was the password hands its {@code ?} to the next.
   */
  public static String withoutPassword(String url) {
    Matcher matcher = PASSWORD_PARAMETER.matcher(url);
    if (!matcher.find()) {
      return url;
    }
    String separator = matcher.group(1);
    String before = url.substring(0, matcher.start());
    String after = url.substring(matcher.end());
    if (separator.equals("?")) {
      // "?password=x&user=u" -> "?user=u"; "?password=x" -> "".
      return after.isEmpty() ? before : before + "?" + after.substring(1);
    }
    return before + after;
  }
}
