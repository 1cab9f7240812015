#pragma once
// Where the registry's records live. `kafka_store` is the real one (the `_schemas` topic);
// `memory_store` applies records directly, for tests of the REST semantics and for tools that
// need a registry without a cluster.

#include <optional>
#include <vector>

#include "schema/api_error.h"
#include "schema/records.h"

namespace substrate::schema {

class store {
public:
  virtual ~store() = default;
  // Writes the records durably, in order, and returns once the registry's state has applied
  // them (read back from the log, so every registry on the log sees the same order). An error
  // (50001 store error, 50002 timeout) when that cannot be confirmed.
  [[nodiscard]] virtual std::optional<api_error> append(const std::vector<record>& records) = 0;
  // Returns once the state has applied everything the log held when called (another registry's
  // writes included), so a decision is taken on current state.
  [[nodiscard]] virtual std::optional<api_error> catch_up() = 0;
};

}  // namespace substrate::schema
