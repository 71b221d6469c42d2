package dev.clickstream.runners;

import dev.clickstream.client.FeatureClient;
import dev.clickstream.client.FeatureClientException;
import dev.clickstream.client.FeatureVector;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code ./clickstream get}: feature vectors from a running feature server, one JSON line per entity, through the Java
 * client ({@link FeatureClient}).
 */
final class GetCommand {
  static final String DEFAULT_SERVER = "http://127.0.0.1:8080";
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream get VIEW ENTITY [ENTITY...]",
          "       ./clickstream get --service=NAME ENTITY [ENTITY...]",
          "",
          "Prints the features of each entity from a running feature server (./clickstream serve), one JSON line",
          "per entity, in the order given: a view's status (ok, stale, not_found), features and times, or a",
          "feature service's vector (columns named view.column, and each view's status and times).",
          "",
          "  --server=URL      the feature server (default " + DEFAULT_SERVER + ")",
          "  --service=NAME    a feature service (such as ranking_v1) instead of a view",
          "",
          "Views and services: curl " + DEFAULT_SERVER + "/registry, or GET / for the index.",
          "Exit status: 0 when every entity was answered, 3 when one was not_found, 1 when the server refused or",
          "could not be reached, 2 for a wrong call.");

  private static final Set<String> FLAGS = Set.of("server", "service");
  /** An entity was not found: the answer printed, but a script may want to know. */
  static final int SOME_NOT_FOUND = 3;

  private GetCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    List<String> flags = new ArrayList<>();
    List<String> positional = new ArrayList<>();
    for (String arg : args) {
      (arg.startsWith("--") ? flags : positional).add(arg);
    }
    Flags parsed = Flags.parse("get", flags, FLAGS);
    String service = parsed.string("service", null);
    List<String> ids = service == null && !positional.isEmpty() ? positional.subList(1, positional.size()) : positional;
    if (ids.isEmpty()) {
      throw new UsageException("get: name " + (service == null ? "a view and " : "") + "at least one entity, such as"
          + " './clickstream get ctr_5min u1' or './clickstream get --service=ranking_v1 u1' (see --help)");
    }
    FeatureClient client;
    try {
      client = FeatureClient.of(URI.create(parsed.string("server", DEFAULT_SERVER)));
    } catch (IllegalArgumentException e) {
      throw new UsageException("get: --server " + e.getMessage() + ", such as " + DEFAULT_SERVER);
    }
    List<FeatureVector> vectors;
    try {
      vectors = service == null ? client.features(positional.get(0), ids) : client.vectors(service, ids);
    } catch (FeatureClientException e) {
      err.println("error: " + (e.status() == 0 ? "" : "the server answered " + e.status() + ": ") + e.getMessage());
      return 1;
    }
    boolean allFound = true;
    for (FeatureVector vector : vectors) {
      out.println(vector.json());
      allFound &= !"not_found".equals(vector.status());
    }
    return allFound ? 0 : SOME_NOT_FOUND;
  }
}
