#include "auth/verified_token_cache.h"

#include <string>

#include <gtest/gtest.h>

namespace substrate::auth {
namespace {

TEST(verified_token_cache, a_hit_checks_the_time_claims_again_with_the_leeway) {
  verified_token_cache<int> cache(10, 30);
  cache.insert("t", {.exp = 1000, .nbf = 500, .iat = std::nullopt}, 7, 600, cache.generation());
  EXPECT_EQ(cache.find("t", 600), 7);
  EXPECT_EQ(cache.find("t", 1029), 7);  // within exp + leeway
  EXPECT_EQ(cache.find("other", 600), std::nullopt);
  EXPECT_EQ(cache.find("t", 1030), std::nullopt);  // expired: dropped
  EXPECT_EQ(cache.size(), 0u);
  cache.insert("t", {.exp = 1000, .nbf = 500, .iat = std::nullopt}, 7, 600, cache.generation());
  EXPECT_EQ(cache.find("t", 469), std::nullopt);  // the clock went back before nbf - leeway
}

// Only a token's last 32 bytes are hashed; tokens that share them are still told apart by the
// whole token (a forged token with an accepted token's signature finds nothing).
TEST(verified_token_cache, tokens_with_the_same_tail_are_distinct_entries) {
  verified_token_cache<int> cache(10, 0);
  const std::string tail(32, 's');
  cache.insert("header.alice." + tail, {}, 1, 0, cache.generation());
  cache.insert("header.bob." + tail, {}, 2, 0, cache.generation());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find("header.alice." + tail, 0), 1);
  EXPECT_EQ(cache.find("header.bob." + tail, 0), 2);
  EXPECT_EQ(cache.find("header.mallory." + tail, 0), std::nullopt);
  EXPECT_EQ(cache.find(tail, 0), std::nullopt);
}

TEST(verified_token_cache, a_full_cache_drops_the_invalid_entries_first_then_all) {
  verified_token_cache<int> cache(3, 0);
  cache.insert("short", {.exp = 110}, 1, 100, cache.generation());
  cache.insert("long1", {.exp = 1000}, 2, 100, cache.generation());
  cache.insert("long2", {.exp = 1000}, 3, 100, cache.generation());
  EXPECT_EQ(cache.size(), 3u);
  cache.insert("long3", {.exp = 1000}, 4, 200, cache.generation());  // "short" has expired
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("long1", 200), 2);
  EXPECT_EQ(cache.find("long3", 200), 4);
  cache.insert("long4", {.exp = 1000}, 5, 200, cache.generation());  // none invalid: starts over
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("long4", 200), 5);
}

TEST(verified_token_cache, clear_drops_the_verdicts_of_verifications_begun_before_it) {
  verified_token_cache<int> cache(10, 0);
  const auto before = cache.generation();
  cache.insert("a", {}, 1, 0, before);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  cache.insert("b", {}, 2, 0, before);  // verified with the keys that clear() replaced
  EXPECT_EQ(cache.find("b", 0), std::nullopt);
  cache.insert("b", {}, 2, 0, cache.generation());
  EXPECT_EQ(cache.find("b", 0), 2);
}

}  // namespace
}  // namespace substrate::auth
