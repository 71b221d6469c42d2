package dev.clickstream.store;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JdbcUrlsTest {
  @Test
  void redactsEveryFormOfCredential() {
    assertThat(JdbcUrls.redacted("jdbc:postgresql://db:5432/f?user=app&password=s3&ssl=true"),
        is("jdbc:postgresql://db:5432/f?user=app&password=***&ssl=true"));
    assertThat(JdbcUrls.redacted("jdbc:postgresql://db/f?PASSWORD=s3"), is("jdbc:postgresql://db/f?PASSWORD=***"));
    assertThat(JdbcUrls.redacted("jdbc:postgresql://db/f?user=app&sslpassword=k&sslmode=verify-full"),
        is("jdbc:postgresql://db/f?user=app&sslpassword=***&sslmode=verify-full"));
    assertThat(JdbcUrls.redacted("jdbc:mariadb://db/f?trustStorePassword=t&user=app&password="),
        is("jdbc:mariadb://db/f?trustStorePassword=***&user=app&password=***"));
    assertThat(JdbcUrls.redacted("jdbc:h2:tcp://db/f;USER=app;PASSWORD=s3;MODE=PostgreSQL"),
        is("jdbc:h2:tcp://db/f;USER=app;PASSWORD=***;MODE=PostgreSQL"));
    assertThat(JdbcUrls.redacted("jdbc:mysql://app:s3@db:3306/f?useSSL=true"),
        is("jdbc:mysql://app:***@db:3306/f?useSSL=true"));
    assertThat(JdbcUrls.redacted("jdbc:postgresql://db/f?user=app&authToken=tk"),
        is("jdbc:postgresql://db/f?user=app&authToken=***"));
  }

  @Test
  void leavesUrlsWithoutCredentialsAlone() {
    assertThat(JdbcUrls.redacted("jdbc:h2:file:./data/online;AUTO_SERVER=TRUE"),
        is("jdbc:h2:file:./data/online;AUTO_SERVER=TRUE"));
    assertThat(JdbcUrls.redacted("jdbc:postgresql://127.0.0.1:5432/test?user=postgres"),
        is("jdbc:postgresql://127.0.0.1:5432/test?user=postgres"));
    assertThat(JdbcUrls.redacted(null), is((String) null));
  }

  @Test
  void takesThePasswordOutOfTheUrl() {
    assertThat(JdbcUrls.password("jdbc:postgresql://db/f?user=app&password=s3&ssl=true"), is(Optional.of("s3")));
    assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/f?user=app&password=s3&ssl=true"),
        is("jdbc:postgresql://db/f?user=app&ssl=true"));
    assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/f?password=s3&user=app"),
        is("jdbc:postgresql://db/f?user=app"));
    assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/f?password=s3"), is("jdbc:postgresql://db/f"));
    assertThat(JdbcUrls.withoutPassword("jdbc:h2:tcp://db/f;USER=app;PASSWORD=s3;MODE=PostgreSQL"),
        is("jdbc:h2:tcp://db/f;USER=app;MODE=PostgreSQL"));
    assertThat(JdbcUrls.password("jdbc:mariadb://db/f?user=app&sslpassword=k"), is(Optional.empty()));
    assertThat(JdbcUrls.withoutPassword("jdbc:mariadb://db/f?user=app&sslpassword=k"),
        is("jdbc:mariadb://db/f?user=app&sslpassword=k"));
  }

  @Test
  void aPasswordKeptInTheJvmReachesTheDriverButNotTheUrl() {
    String url = "jdbc:postgresql://127.0.0.1:5432/kept?user=app&password=s3";

    String withoutPassword = ConnectionPools.passwordKeptInJvm(url);

    assertThat(withoutPassword, is("jdbc:postgresql://127.0.0.1:5432/kept?user=app"));
    assertThat(ConnectionPools.passwordFor(withoutPassword, Map.of()), is("s3"));
    assertThat(ConnectionPools.passwordFor(url, Map.of(ConnectionPools.PASSWORD_VARIABLE, "env")), is((String) null));
  }

  @Test
  void theEnvironmentGivesThePasswordOfUrlsWithoutOne() {
    Map<String, String> environment = Map.of(ConnectionPools.PASSWORD_VARIABLE, "env");

    assertThat(ConnectionPools.passwordFor("jdbc:mariadb://db:3306/f?user=app", environment), is("env"));
    assertThat(ConnectionPools.passwordFor("jdbc:postgresql://db/f?user=app", Map.of()), is((String) null));
    assertThat(ConnectionPools.passwordFor("jdbc:h2:mem:f", environment), is((String) null));
  }
}
