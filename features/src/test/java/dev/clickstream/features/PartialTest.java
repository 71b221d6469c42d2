package dev.clickstream.features;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import org.junit.jupiter.api.Test;

class PartialTest {

  @Test
  void countsEveryEventAndSummarizesOnlyTheValues() {
    Partial partial = new Partial().add(1_000, 2.0).add(2_000, null).add(3_000, 5.0).add(500, -1.0);

    assertThat(partial.count(), is(4L));
    assertThat(partial.valueCount(), is(3L));
    assertThat(partial.sum(), is(6.0));
    assertThat(partial.min(), is(-1.0));
    assertThat(partial.max(), is(5.0));
    assertThat(partial.lastTimestamp(), is(3_000L));
    assertThat(partial.lastValue(), is(5.0));
  }

  @Test
  void mergeIsTheSameWhateverTheOrder() {
    Partial a = Partial.of(1_000, 1.0);
    Partial b = Partial.of(2_000, 7.0).add(2_000, 3.0);
    Partial c = Partial.of(1_500, null);

    Partial abc = a.copy().merge(b).merge(c);
    Partial cba = c.copy().merge(b).merge(a);

    assertThat(abc, equalTo(cba));
    assertThat(abc.count(), is(4L));
    // Tied latest timestamp: the larger value, whichever arrived first.
    assertThat(abc.lastValue(), is(7.0));
  }

  @Test
  void mergeLeavesTheOtherPartialUnchanged() {
    Partial other = Partial.of(1_000, 1.0);
    new Partial().merge(other).add(5_000, 9.0);

    assertThat(other, equalTo(Partial.of(1_000, 1.0)));
  }

  @Test
  void anEmptyPartialHasNoValues() {
    Partial empty = new Partial();

    assertThat(empty.isEmpty(), is(true));
    assertThat(empty.valueCount(), is(0L));
    assertThat(empty.merge(new Partial()), equalTo(new Partial()));
  }
}
