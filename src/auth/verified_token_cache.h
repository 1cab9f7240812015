#pragma once
// Verdicts of token verification kept by the token's text, so that a token presented again skips
// the signature check and the JSON parsing (the largest CPU cost of a REST or gateway request).
// Only accepted tokens are kept, with their time claims, which every hit checks again with the
// same leeway as auth::check_time_claims: a cached token still expires. Bounded: when full, the
// entries no longer valid go first, then all. clear() also drops the verdict of every
// verification that began before it (see generation()), for when the keys change. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/string_map.h"

namespace substrate::auth {

// The time claims of an accepted token; each absent, or the number it had.
struct time_claims {
  std::optional<std::int64_t> exp, nbf, iat;

  // From claims that check_time_claims accepted (so each is absent, null or a number).
  static time_claims of(const nlohmann::json& claims) {
    const auto date = [&claims](const char* name) -> std::optional<std::int64_t> {
      const auto it = claims.find(name);
      if (it == claims.end() || !it->is_number()) return std::nullopt;
      return static_cast<std::int64_t>(it->get<double>());
    };
    return {date("exp"), date("nbf"), date("iat")};
  }
  // The rules of check_time_claims.
  [[nodiscard]] bool valid_at(std::int64_t now_s, std::int64_t leeway_s) const {
    if (exp && now_s >= *exp + leeway_s) return false;
    if (nbf && now_s + leeway_s < *nbf) return false;
    if (iat && now_s + leeway_s < *iat) return false;
    return true;
  }
};

template <class Value>
class verified_token_cache {
public:
  verified_token_cache(std::size_t max_entries, std::int64_t leeway_s)
      : max_entries_(max_entries), leeway_s_(leeway_s) {}

  // The value kept for `token` if it is still valid at now_s (an invalid entry is dropped).
  [[nodiscard]] std::optional<Value> find(std::string_view token, std::int64_t now_s) {
    std::lock_guard lock(mutex_);
    const auto hit = entries_.find(token);
    if (hit == entries_.end()) return std::nullopt;
    if (hit->second.times.valid_at(now_s, leeway_s_)) return hit->second.value;
    entries_.erase(hit);  // expired (or the clock went back): verified again, and refused
    return std::nullopt;
  }

  // Read before verifying; pass it to insert().
  [[nodiscard]] std::uint64_t generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  // Keeps an accepted token, unless clear() ran since `generation` was read (the verdict may
  // rest on a key that is gone).
  void insert(std::string_view token, const time_claims& times, Value value, std::int64_t now_s,
              std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    if (generation != generation_ || max_entries_ == 0) return;
    if (entries_.size() >= max_entries_) {
      std::erase_if(entries_, [&](const auto& e) { return !e.second.times.valid_at(now_s, leeway_s_); });
      if (entries_.size() >= max_entries_) entries_.clear();
    }
    entries_.insert_or_assign(std::string(token), entry{times, std::move(value)});
  }

  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    ++generation_;
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

private:
  struct entry {
    time_claims times;
    Value value;
  };
  const std::size_t max_entries_;
  const std::int64_t leeway_s_;
  mutable std::mutex mutex_;
  // Hashes a token's last 32 bytes: they lie in its signature (43 characters for HS256, more for
  // ES256 and RS256), which is random for every accepted token (only accepted tokens are kept),
  // instead of all few hundred. Equality still compares the whole token.
  struct signature_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view token) const {
      constexpr std::size_t tail = 32;
      return std::hash<std::string_view>{}(token.size() > tail ? token.substr(token.size() - tail) : token);
    }
  };
  // Looked up by the token as a view: a few hundred bytes, not worth a copy per request.
  core::string_map<entry, signature_hash> entries_;  // guarded by mutex_
  std::uint64_t generation_ = 0;                     // guarded by mutex_
};

}  // namespace substrate::auth
