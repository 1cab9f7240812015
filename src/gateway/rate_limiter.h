#pragma once
// Per-caller token buckets (issue 6, limits): each caller (a token's subject, or the remote
// address for webhooks) may spend `burst` requests at once and `rate_per_s` per second on
// average; beyond that take() says how long to wait (the 429's Retry-After).
//
// Time is injected (milliseconds of any monotonic clock) so tests drive it by hand. Memory is
// bounded: at most `callers_max` buckets; when full, buckets that have refilled completely (they
// carry no information) are dropped, and if none has, new callers share one overflow bucket.
//
// Threading: any thread (one mutex; the critical section is a map lookup and arithmetic).

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/string_map.h"

namespace substrate::gateway {

class rate_limiter {
public:
  // rate_per_s <= 0 disables the limiter (take() always allows).
  rate_limiter(double rate_per_s, double burst, std::size_t callers_max = 100'000);

  // Spends one token of `caller`'s bucket at `now_ms`: nothing when allowed, else the whole
  // seconds until a token is available (>= 1).
  [[nodiscard]] std::optional<std::int64_t> take(std::string_view caller, std::int64_t now_ms);

  [[nodiscard]] std::size_t callers() const;

private:
  struct bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;
  };
  void refill(bucket& b, std::int64_t now_ms) const;
  void evict_full(std::int64_t now_ms);

  double rate_per_ms_;
  double burst_;
  std::size_t callers_max_;
  mutable std::mutex mutex_;
  core::string_map<bucket> buckets_;  // looked up by the caller's id as a view
  bucket overflow_;
};

}  // namespace substrate::gateway
