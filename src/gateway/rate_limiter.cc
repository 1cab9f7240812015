#include "gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace substrate::gateway {

rate_limiter::rate_limiter(double rate_per_s, double burst, std::size_t callers_max)
    : rate_per_ms_(rate_per_s / 1000.0),
      burst_(std::max(1.0, burst)),
      callers_max_(std::max<std::size_t>(1, callers_max)) {
  overflow_.tokens = burst_;
}

void rate_limiter::refill(bucket& b, std::int64_t now_ms) const {
  if (now_ms > b.updated_ms) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(now_ms - b.updated_ms) * rate_per_ms_);
    b.updated_ms = now_ms;
  }
}

void rate_limiter::evict_full(std::int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now_ms);
    if (it->second.tokens >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<std::int64_t> rate_limiter::take(std::string_view caller, std::int64_t now_ms) {
  if (rate_per_ms_ <= 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  bucket* b = nullptr;
  if (auto it = buckets_.find(caller); it != buckets_.end()) {
    b = &it->second;
  } else {
    if (buckets_.size() >= callers_max_) evict_full(now_ms);
    if (buckets_.size() >= callers_max_) {
      b = &overflow_;
    } else {
      b = &buckets_.emplace(std::string(caller), bucket{burst_, now_ms}).first->second;
    }
  }
  refill(*b, now_ms);
  if (b->tokens >= 1.0) {
    b->tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_ms = (1.0 - b->tokens) / rate_per_ms_;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_ms / 1000.0)));
}

std::size_t rate_limiter::callers() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace substrate::gateway
