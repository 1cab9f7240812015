#include "auth/sign_in_limiter.h"

#include <algorithm>

namespace substrate::auth {
namespace {
std::string email_key(std::string_view email) {
  return "e:" + std::string(email);
}
std::string address_key(std::string_view address) {
  return "a:" + std::string(address);
}
std::string sign_up_key(std::string_view address) {
  return "s:" + std::string(address);
}
}  // namespace

sign_in_limiter::sign_in_limiter(bucket_rule email_rule, bucket_rule address_rule, std::size_t keys_max,
                                 bucket_rule sign_up_rule)
    : email_rule_(email_rule), address_rule_(address_rule), sign_up_rule_(sign_up_rule), keys_max_(keys_max) {}

const bucket_rule& sign_in_limiter::rule_of(const std::string& key) const {
  if (key.starts_with("e:")) return email_rule_;
  if (key.starts_with("s:")) return sign_up_rule_;
  return address_rule_;
}

bool sign_in_limiter::take_sign_up(std::string_view address, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const auto key = sign_up_key(address);
  if (level(key, sign_up_rule_, now_ms) < 1.0) return false;
  if (buckets_.size() + 1 > keys_max_) prune(now_ms);
  take(key, sign_up_rule_, now_ms);
  return true;
}

double sign_in_limiter::level(const std::string& key, const bucket_rule& rule, std::int64_t now_ms) {
  const auto it = buckets_.find(key);
  if (it == buckets_.end()) return static_cast<double>(rule.burst);
  const double refilled = static_cast<double>(std::max<std::int64_t>(0, now_ms - it->second.updated_ms)) /
                          (static_cast<double>(rule.refill_s) * 1000.0);
  return std::min(static_cast<double>(rule.burst), it->second.tokens + refilled);
}

void sign_in_limiter::take(const std::string& key, const bucket_rule& rule, std::int64_t now_ms) {
  const double now_level = level(key, rule, now_ms);
  buckets_[key] = bucket{std::max(0.0, now_level - 1.0), now_ms};
}

bool sign_in_limiter::allowed(std::string_view email, std::string_view address, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  return level(email_key(email), email_rule_, now_ms) >= 1.0 &&
         level(address_key(address), address_rule_, now_ms) >= 1.0;
}

void sign_in_limiter::record_failure(std::string_view email, std::string_view address, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (buckets_.size() + 2 > keys_max_) prune(now_ms);
  take(email_key(email), email_rule_, now_ms);
  take(address_key(address), address_rule_, now_ms);
}

void sign_in_limiter::prune(std::int64_t now_ms) {
  // Full buckets carry no information. If every bucket is still draining, drop all: losing
  // counters is safer than growing without bound under a flood of distinct keys.
  std::erase_if(buckets_, [&](const auto& entry) {
    const auto& rule = rule_of(entry.first);
    return level(entry.first, rule, now_ms) >= static_cast<double>(rule.burst);
  });
  if (buckets_.size() + 2 > keys_max_) buckets_.clear();
}

std::size_t sign_in_limiter::size() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace substrate::auth
