package dev.clickstream.runners;

import dev.clickstream.features.Dimension;
import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.store.DimensionTables;
import dev.clickstream.store.OnlineStore;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./clickstream dimensions}: writes the generated {@code users} and {@code items} dimension tables (see {@link
 * DimensionGenerator}) into the online store, where the enriched pipeline reads them.
 */
public final class DimensionsCommand {
  static final String HELP =
      String.join(
          "\n",
          "Usage: ./clickstream dimensions [options]",
          "",
          "Writes the dimension tables the enriched pipeline joins events with, for the generator's users and items:",
          "  users: user_id -> country, segment, signup_time   (every 50th user left out: u49, u99, ...)",
          "  items: item_id -> category, campaign, price        (every 40th item left out: item39, item79, ...)",
          "Left-out keys are there on purpose: enrichment gives them the declared defaults and counts them.",
          "Rows are upserted, so running it again with more users or items adds the new ones.",
          "",
          "  --onlineStore=URL   where to write (default " + ClickstreamOptions.DEFAULT_ONLINE_STORE + ")",
          "  --users=N           users u0..u{N-1} (default 1000, as ./clickstream generate)",
          "  --items=N           items item0..item{N-1} (default 200, as ./clickstream generate)");

  private static final Set<String> FLAGS = Set.of("onlineStore", "users", "items");

  private DimensionsCommand() {}

  static int run(List<String> args, PrintStream out) throws Exception {
    Flags flags = Flags.parse("dimensions", args, FLAGS);
    String url = flags.string("onlineStore", ClickstreamOptions.DEFAULT_ONLINE_STORE);
    int users = (int) flags.longValue("users", 1_000, 1, 10_000_000);
    int items = (int) flags.longValue("items", 200, 1, 10_000_000);
    write(OnlineStore.forUrl(url), users, items, out);
    return 0;
  }

  /** Writes both tables into {@code store} and says how many rows each got (also what bench pipeline's runs read). */
  public static void write(OnlineStore store, int users, int items, PrintStream out) throws Exception {
    write(store, DimensionDefinitions.USERS, DimensionGenerator.users(users), out);
    write(store, DimensionDefinitions.ITEMS, DimensionGenerator.items(items), out);
  }

  private static void write(OnlineStore store, Dimension dimension, List<Object[]> rows, PrintStream out)
      throws Exception {
    DimensionTables.write(store, dimension, rows);
    out.printf(Locale.ROOT, "Wrote %,d %s rows to %s%n", rows.size(), dimension.name(), store.redactedUrl());
  }
}
