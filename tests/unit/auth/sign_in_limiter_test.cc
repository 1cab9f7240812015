#include "auth/sign_in_limiter.h"

#include <gtest/gtest.h>

namespace substrate::auth {
namespace {

TEST(sign_in_limiter, email_bucket_locks_after_burst_and_refills) {
  sign_in_limiter limiter({.burst = 3, .refill_s = 60}, {.burst = 100, .refill_s = 1});
  std::int64_t now = 1'000'000;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.allowed("a@x.io", "1.2.3.4", now));
    limiter.record_failure("a@x.io", "1.2.3.4", now);
  }
  EXPECT_FALSE(limiter.allowed("a@x.io", "1.2.3.4", now));
  EXPECT_FALSE(limiter.allowed("a@x.io", "5.6.7.8", now)) << "per e-mail, whatever the address";
  EXPECT_TRUE(limiter.allowed("b@x.io", "1.2.3.4", now)) << "other accounts are not locked";
  EXPECT_FALSE(limiter.allowed("a@x.io", "1.2.3.4", now + 59'000));
  EXPECT_TRUE(limiter.allowed("a@x.io", "1.2.3.4", now + 60'000)) << "one more guess per refill interval";
  limiter.record_failure("a@x.io", "1.2.3.4", now + 60'000);
  EXPECT_FALSE(limiter.allowed("a@x.io", "1.2.3.4", now + 61'000));
}

TEST(sign_in_limiter, address_bucket_spans_accounts) {
  sign_in_limiter limiter({.burst = 100, .refill_s = 60}, {.burst = 2, .refill_s = 10});
  const std::int64_t now = 5000;
  limiter.record_failure("a@x.io", "9.9.9.9", now);
  limiter.record_failure("b@x.io", "9.9.9.9", now);
  EXPECT_FALSE(limiter.allowed("c@x.io", "9.9.9.9", now));
  EXPECT_TRUE(limiter.allowed("c@x.io", "8.8.8.8", now));
  EXPECT_TRUE(limiter.allowed("c@x.io", "9.9.9.9", now + 10'000));
}

TEST(sign_in_limiter, memory_is_bounded) {
  sign_in_limiter limiter({.burst = 5, .refill_s = 60}, {.burst = 5, .refill_s = 60}, 100);
  for (int i = 0; i < 1000; ++i) limiter.record_failure(std::to_string(i) + "@x.io", std::to_string(i), i);
  EXPECT_LE(limiter.size(), 100u);
}

TEST(sign_in_limiter, sign_ups_per_address_take_one_each_and_refill) {
  sign_in_limiter limiter({.burst = 5, .refill_s = 60}, {.burst = 20, .refill_s = 6}, 100,
                          {.burst = 3, .refill_s = 10});
  const std::int64_t now = 1'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.take_sign_up("1.2.3.4", now)) << i;
  EXPECT_FALSE(limiter.take_sign_up("1.2.3.4", now)) << "the fourth within the burst is refused";
  EXPECT_TRUE(limiter.take_sign_up("5.6.7.8", now)) << "other addresses have their own bucket";
  EXPECT_TRUE(limiter.allowed("a@x.io", "1.2.3.4", now)) << "sign-ups do not count as failed sign-ins";
  EXPECT_FALSE(limiter.take_sign_up("1.2.3.4", now + 9'999));
  EXPECT_TRUE(limiter.take_sign_up("1.2.3.4", now + 10'000)) << "one more per refill interval";
  EXPECT_FALSE(limiter.take_sign_up("1.2.3.4", now + 10'000));
}

}  // namespace
}  // namespace substrate::auth
