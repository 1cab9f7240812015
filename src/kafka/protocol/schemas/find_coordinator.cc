// FindCoordinator (key 10), v0-2 as in spec 2.5; v3 (flexible) follows
// FindCoordinatorRequest.json / FindCoordinatorResponse.json. v4+ (batched keys) is not described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    field("key", string),
    field("key_type", int8, 1),
};
constexpr struct_desc request{"FindCoordinatorRequest", request_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    field("error_code", int16),
    field("error_message", string, 1).nullable(1),
    field("node_id", int32),
    field("host", string),
    field("port", int32),
};
constexpr struct_desc response{"FindCoordinatorResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::find_coordinator,
    .name = "FindCoordinator",
    .version_min = 0,
    .version_max = 3,
    .flexible_from = 3,
    .advertised_min = 0,
    .advertised_max = 2,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& find_coordinator() {
  return schema;
}

}  // namespace substrate::kafka::schemas
