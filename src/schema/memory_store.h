#pragma once
// A store that applies records to the registry at once, in memory: the registry without a
// cluster (unit tests of the REST semantics, `substrate provision --dry-run`-style tools). It
// runs the same record encoding and replay as `kafka_store`, so the semantics are the same;
// only durability differs. It also keeps the encoded log, so tests can replay it.

#include <mutex>
#include <vector>

#include "schema/registry.h"
#include "schema/store.h"

namespace substrate::schema {

class memory_store final : public store {
public:
  explicit memory_store(registry& target) : target_(target) { target_.set_store(*this); }

  std::optional<api_error> append(const std::vector<record>& records) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : records) {
      auto encoded = encode(r);
      target_.apply(encoded);
      log_.push_back(std::move(encoded));
    }
    return std::nullopt;
  }
  std::optional<api_error> catch_up() override { return std::nullopt; }

  [[nodiscard]] std::vector<encoded_record> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }

private:
  registry& target_;
  mutable std::mutex mutex_;
  std::vector<encoded_record> log_;
};

}  // namespace substrate::schema
