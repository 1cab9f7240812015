// Heartbeat (key 12), v0-3 as in spec 2.5; v4 (flexible) follows HeartbeatRequest.json /
// HeartbeatResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    field("group_id", string),
    field("generation_id", int32),
    field("member_id", string),
    field("group_instance_id", string, 3).nullable(3).fallback_null(),
};
constexpr struct_desc request{"HeartbeatRequest", request_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    field("error_code", int16),
};
constexpr struct_desc response{"HeartbeatResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::heartbeat,
    .name = "Heartbeat",
    .version_min = 0,
    .version_max = 4,
    .flexible_from = 4,
    .advertised_min = 0,
    .advertised_max = 3,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& heartbeat() {
  return schema;
}

}  // namespace substrate::kafka::schemas
