#include "kafka/protocol/schema.h"

#include <array>

#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka {

std::span<const api_schema* const> all_schemas() {
  static const std::array<const api_schema*, 20> instance = {
      &schemas::produce(),          &schemas::fetch(),
      &schemas::list_offsets(),     &schemas::metadata(),
      &schemas::offset_commit(),    &schemas::offset_fetch(),
      &schemas::find_coordinator(), &schemas::join_group(),
      &schemas::heartbeat(),        &schemas::leave_group(),
      &schemas::sync_group(),       &schemas::describe_groups(),
      &schemas::list_groups(),      &schemas::sasl_handshake(),
      &schemas::api_versions(),     &schemas::create_topics(),
      &schemas::delete_topics(),    &schemas::init_producer_id(),
      &schemas::describe_configs(), &schemas::sasl_authenticate(),
  };
  return instance;
}

const api_schema* find_schema(api_key key) {
  for (const api_schema* s : all_schemas()) {
    if (s->key == key) return s;
  }
  return nullptr;
}

}  // namespace substrate::kafka
