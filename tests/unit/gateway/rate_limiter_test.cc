#include "gateway/rate_limiter.h"

#include <gtest/gtest.h>

namespace substrate::gateway {
namespace {

TEST(rate_limiter, allows_the_burst_then_the_rate_with_a_retry_after) {
  rate_limiter limiter(2, 3);  // 2 per second, 3 at once
  std::int64_t now_ms = 1'000;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take("u1", now_ms)) << i;
  auto wait = limiter.take("u1", now_ms);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1);
  // Another caller has a bucket of its own.
  EXPECT_FALSE(limiter.take("u2", now_ms));
  now_ms += 499;
  EXPECT_TRUE(limiter.take("u1", now_ms));
  now_ms += 1;  // 500 ms at 2/s: one token
  EXPECT_FALSE(limiter.take("u1", now_ms));
  EXPECT_TRUE(limiter.take("u1", now_ms));
  // Refill stops at the burst.
  now_ms += 60'000;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take("u1", now_ms)) << i;
  EXPECT_TRUE(limiter.take("u1", now_ms));
}

TEST(rate_limiter, retry_after_covers_slow_rates) {
  rate_limiter limiter(0.1, 1);  // one every 10 s
  EXPECT_FALSE(limiter.take("u", 0));
  auto wait = limiter.take("u", 0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 10);
  EXPECT_EQ(*limiter.take("u", 4'000), 6);
  EXPECT_FALSE(limiter.take("u", 10'000));
}

TEST(rate_limiter, zero_rate_disables_it) {
  rate_limiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.take("u", 0));
  EXPECT_EQ(limiter.callers(), 0u);
}

TEST(rate_limiter, memory_is_bounded_by_dropping_refilled_buckets) {
  rate_limiter limiter(1, 1, /*callers_max=*/2);
  EXPECT_FALSE(limiter.take("a", 0));
  EXPECT_FALSE(limiter.take("b", 0));
  // Full table, nobody refilled: the newcomer shares the overflow bucket (still limited).
  EXPECT_FALSE(limiter.take("c", 0));
  EXPECT_TRUE(limiter.take("d", 0));
  EXPECT_EQ(limiter.callers(), 2u);
  // A second later a and b are full again and make room.
  EXPECT_FALSE(limiter.take("e", 1'000));
  EXPECT_LE(limiter.callers(), 2u);
}

}  // namespace
}  // namespace substrate::gateway
