#pragma once
// Brute-force protection of password sign-in, and the per-address rate of sign-ups
// (src/auth/README.md, "Sign-in throttling").
//
// Each key (an e-mail address, a client address) has a bucket of `burst` failures that refills
// one failure every `refill_s` seconds. Every failed sign-in takes one from the e-mail's and
// the address's bucket; while either is empty, sign-in answers 429 over_request_rate_limit
// before the password is even hashed (a lockout that also caps the CPU an attacker can burn).
// Success takes nothing. With the defaults (5 / 60 s per e-mail, 20 / 6 s per address) an
// attacker gets 5 quick guesses at an account and then one a minute.
//
// The state is in memory, not PostgreSQL: it is consulted before every hash without a database
// round trip and written on every failure, and losing it on a restart only resets counters
// (an attacker cannot restart the server). Instances sharing a database each count on their own.
// Entries are bounded (`keys_max`); full buckets are dropped first.
//
// Thread-safe (a mutex; called from the blocking pool only). Time is injected (unix ms).

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace substrate::auth {

struct bucket_rule {
  std::int64_t burst = 5;
  std::int64_t refill_s = 60;
};

class sign_in_limiter {
public:
  // `sign_up_rule`: the bucket of sign-up requests per client address (take_sign_up).
  sign_in_limiter(bucket_rule email_rule, bucket_rule address_rule, std::size_t keys_max = 100'000,
                  bucket_rule sign_up_rule = {.burst = 30, .refill_s = 10});

  // False when the e-mail's or the address's bucket is empty at `now_ms`.
  [[nodiscard]] bool allowed(std::string_view email, std::string_view address, std::int64_t now_ms);
  // Takes one failure from both buckets.
  void record_failure(std::string_view email, std::string_view address, std::int64_t now_ms);
  // Sign-up: every request takes one from the address's sign-up bucket; false (nothing taken)
  // when it is empty.
  [[nodiscard]] bool take_sign_up(std::string_view address, std::int64_t now_ms);
  [[nodiscard]] std::size_t size();

private:
  struct bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;
  };
  double level(const std::string& key, const bucket_rule& rule, std::int64_t now_ms);
  void take(const std::string& key, const bucket_rule& rule, std::int64_t now_ms);
  void prune(std::int64_t now_ms);
  [[nodiscard]] const bucket_rule& rule_of(const std::string& key) const;

  const bucket_rule email_rule_;
  const bucket_rule address_rule_;
  const bucket_rule sign_up_rule_;
  const std::size_t keys_max_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace substrate::auth
