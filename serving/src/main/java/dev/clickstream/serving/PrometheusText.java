package dev.clickstream.serving;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads Prometheus' text exposition format (0.0.4): the samples of a {@code /metrics} page, so that the server can
 * show a pipeline run's metrics on its status page. Comments ({@code # HELP}, {@code # TYPE}) and timestamps are
 * skipped.
 */
public final class PrometheusText {
  /** One line of a page: a metric name, its labels in order, and the value. */
  public record Sample(String name, Map<String, String> labels, double value) {
    /** The label {@code label}'s value, or null. */
    public String label(String label) {
      return labels.get(label);
    }
  }

  private PrometheusText() {}

  /** Every sample of {@code page}; an {@link IllegalArgumentException} naming the line when one cannot be read. */
  public static List<Sample> parse(String page) {
    List<Sample> samples = new ArrayList<>();
    int lineNumber = 0;
    for (String line : page.split("\n")) {
      lineNumber++;
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#")) {
        continue;
      }
      try {
        samples.add(sample(trimmed));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "line " + lineNumber + " is not a Prometheus sample (" + e.getMessage() + "): " + trimmed, e);
      }
    }
    return samples;
  }

  /** The value of the one sample named {@code name} whose labels include {@code labels}; NaN when none matches. */
  public static double value(List<Sample> samples, String name, Map<String, String> labels) {
    for (Sample sample : samples) {
      if (sample.name().equals(name) && sample.labels().entrySet().containsAll(labels.entrySet())) {
        return sample.value();
      }
    }
    return Double.NaN;
  }

  private static Sample sample(String line) {
    int brace = line.indexOf('{');
    int space = line.indexOf(' ');
    Map<String, String> labels = new LinkedHashMap<>();
    String name;
    int rest;
    if (brace >= 0 && (space < 0 || brace < space)) {
      name = line.substring(0, brace);
      rest = labels(line, brace + 1, labels);
    } else {
      name = line.substring(0, space);
      rest = space;
    }
    String[] valueAndTime = line.substring(rest).strip().split("\\s+");
    return new Sample(name, labels, value(valueAndTime[0]));
  }

  /** Reads {@code name="value",...}} from {@code from}; returns the index after the closing brace. */
  private static int labels(String line, int from, Map<String, String> labels) {
    int i = from;
    while (true) {
      while (line.charAt(i) == ',' || line.charAt(i) == ' ') {
        i++;
      }
      if (line.charAt(i) == '}') {
        return i + 1;
      }
      int equals = line.indexOf('=', i);
      String label = line.substring(i, equals).strip();
      if (line.charAt(equals + 1) != '"') {
        throw new IllegalArgumentException("label " + label + " has no quoted value");
      }
      StringBuilder value = new StringBuilder();
      i = equals + 2;
      for (char c = line.charAt(i); c != '"'; c = line.charAt(++i)) {
        if (c == '\\') {
          char escaped = line.charAt(++i);
          value.append(escaped == 'n' ? '\n' : escaped);
        } else {
          value.append(c);
        }
      }
      labels.put(label, value.toString());
      i++;
    }
  }

  private static double value(String text) {
    switch (text) {
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      case "NaN":
        return Double.NaN;
      default:
        return Double.parseDouble(text);
    }
  }
}
