// SyncGroup (key 14), v0-3 as in spec 2.5; v4 (flexible) and v5 (protocol type and name)
// follow SyncGroupRequest.json / SyncGroupResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc sync_group_request_assignment_fields[] = {
    field("member_id", string),
    field("assignment", bytes),
};
constexpr struct_desc sync_group_request_assignment{"SyncGroupRequestAssignment", sync_group_request_assignment_fields};

constexpr field_desc request_fields[] = {
    field("group_id", string),
    field("generation_id", int32),
    field("member_id", string),
    field("group_instance_id", string, 3).nullable(3).fallback_null(),
    field("protocol_type", string, 5).nullable(5).fallback_null(),
    field("protocol_name", string, 5).nullable(5).fallback_null(),
    // Only the group leader sends a non-empty list.
    array_of("assignments", sync_group_request_assignment),
};
constexpr struct_desc request{"SyncGroupRequest", request_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    field("error_code", int16),
    field("protocol_type", string, 5).nullable(5).fallback_null(),
    field("protocol_name", string, 5).nullable(5).fallback_null(),
    field("assignment", bytes),
};
constexpr struct_desc response{"SyncGroupResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::sync_group,
    .name = "SyncGroup",
    .version_min = 0,
    .version_max = 5,
    .flexible_from = 4,
    .advertised_min = 0,
    .advertised_max = 3,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& sync_group() {
  return schema;
}

}  // namespace substrate::kafka::schemas
