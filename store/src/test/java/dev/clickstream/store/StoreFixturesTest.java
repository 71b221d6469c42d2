package dev.clickstream.store;

import dev.clickstream.features.FeatureTables;
import static dev.clickstream.features.FeatureTables.CTR_5MIN;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;

import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link StoreFixtures}: every dialect's fresh store is its own, empty one. */
class StoreFixturesTest {
  private static final long T0 = 1_704_067_200_000L;

  @AfterEach
  void closePools() {
    ConnectionPools.closeAll();
  }

  static List<String> dialects() {
    return StoreFixtures.dialects();
  }

  @Test
  void everyDialectIsTested() {
    assertThat(StoreFixtures.dialects(), is(List.of("h2", "postgresql", "mariadb")));
  }

  @ParameterizedTest
  @MethodSource("dialects")
  void eachFreshStoreIsEmptyAndApartFromTheOthers(String dialect) throws SQLException {
    String firstUrl = StoreFixtures.freshStoreUrl(dialect);
    String secondUrl = StoreFixtures.freshStoreUrl(dialect);
    OnlineStore first = OnlineStore.forUrl(firstUrl);
    OnlineStore second = OnlineStore.forUrl(secondUrl);
    first.ensureTable(CTR_5MIN);
    second.ensureTable(CTR_5MIN);

    first.upsert(CTR_5MIN, List.<Object[]>of(new Object[] {"u1", T0, T0 + 300_000, 4L, 1L, 0.25, T0}));

    assertThat(secondUrl, is(not(firstUrl)));
    assertThat(first.read(CTR_5MIN, "u1").isPresent(), is(true));
    assertThat(second.read(CTR_5MIN, "u1"), is(Optional.empty()));
  }

  /** By default jdbc:mariadb://127.0.0.1:3306/t_...?user=root: the base URL with another database. */
  @Test
  void aFreshMariadbStoreIsANewDatabaseOnTheBaseUrlsServer() {
    String base = StoreFixtures.MARIADB_BASE_URL;
    int database = base.indexOf('/', base.indexOf("//") + 2);
    int query = base.indexOf('?');

    assertThat(StoreFixtures.freshStoreUrl("mariadb"),
        matchesPattern(Pattern.quote(base.substring(0, database)) + "/t_\\d{10}_[0-9a-f]{12}"
            + Pattern.quote(query < 0 ? "" : base.substring(query))));
  }
}
