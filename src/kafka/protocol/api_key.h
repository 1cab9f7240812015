#pragma once
// Kafka API keys that the codec describes (spec section 2.3). The underlying type is the wire's
// int16, so a value read off the wire that is not listed here is still representable.

#include <cstdint>
#include <string_view>

namespace substrate::kafka {

enum class api_key : std::int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  init_producer_id = 22,
  describe_configs = 32,
  sasl_authenticate = 36,
};

// Whether a message is the request or the response of its API.
enum class message_kind { request, response };

}  // namespace substrate::kafka
