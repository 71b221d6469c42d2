package dev.clickstream.features;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import org.junit.jupiter.api.Test;

class EntityIdsTest {
  @Test
  void acceptsPrintableIdsUpToTheLimit() {
    assertThat(EntityIds.problem("u1"), nullValue());
    assertThat(EntityIds.problem("ü-\uD83D\uDE00-用户"), nullValue());
    assertThat(EntityIds.problem("u".repeat(256)), nullValue());
  }

  @Test
  void refusesBlankMissingAndLongIds() {
    assertThat(EntityIds.problem(null), equalTo("is missing"));
    assertThat(EntityIds.problem(""), equalTo("is blank"));
    assertThat(EntityIds.problem(" \t"), equalTo("is blank"));
    assertThat(EntityIds.problem("u".repeat(257)), equalTo("holds 257 characters, more than the 256 allowed"));
  }

  @Test
  void refusesControlCharacters() {
    assertThat(EntityIds.problem("u\u0000x"), equalTo("holds the control character U+0000 at index 1"));
    assertThat(EntityIds.problem("u\u0085"), equalTo("holds the control character U+0085 at index 1"));
    assertThat(EntityIds.problem("a\tb"), equalTo("holds the control character U+0009 at index 1"));
  }

  @Test
  void refusesLoneSurrogatesAndTheReplacementCharacter() {
    assertThat(EntityIds.problem("u\uD83D"), equalTo("holds a lone surrogate U+D83D at index 1"));
    assertThat(EntityIds.problem("\uDE00u"), equalTo("holds a lone surrogate U+DE00 at index 0"));
    assertThat(EntityIds.problem("u\uD83Dx"), equalTo("holds a lone surrogate U+D83D at index 1"));
    assertThat(
        EntityIds.problem("u\uFFFD"), equalTo("holds U+FFFD at index 1, the mark of bytes that were not valid UTF-8"));
  }
}
