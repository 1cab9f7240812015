// JoinGroup (key 11), v0-5 as in spec 2.5; v6 (flexible) follows JoinGroupRequest.json /
// JoinGroupResponse.json. v7+ (protocol type in the response, reasons) is not described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc join_group_request_protocol_fields[] = {
    field("name", string),
    field("metadata", bytes),
};
constexpr struct_desc join_group_request_protocol{"JoinGroupRequestProtocol", join_group_request_protocol_fields};

constexpr field_desc request_fields[] = {
    field("group_id", string),
    field("session_timeout_ms", int32),
    // v0 has no rebalance timeout; the coordinator uses the session timeout instead.
    field("rebalance_timeout_ms", int32, 1).fallback(-1),
    field("member_id", string),
    field("group_instance_id", string, 5).nullable(5).fallback_null(),
    field("protocol_type", string),
    array_of("protocols", join_group_request_protocol),
};
constexpr struct_desc request{"JoinGroupRequest", request_fields};

constexpr field_desc join_group_response_member_fields[] = {
    field("member_id", string),
    field("group_instance_id", string, 5).nullable(5).fallback_null(),
    field("metadata", bytes),
};
constexpr struct_desc join_group_response_member{"JoinGroupResponseMember", join_group_response_member_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 2),
    field("error_code", int16),
    field("generation_id", int32).fallback(-1),
    field("protocol_name", string),
    field("leader", string),
    field("member_id", string),
    array_of("members", join_group_response_member),
};
constexpr struct_desc response{"JoinGroupResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::join_group,
    .name = "JoinGroup",
    .version_min = 0,
    .version_max = 6,
    .flexible_from = 6,
    .advertised_min = 0,
    .advertised_max = 5,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& join_group() {
  return schema;
}

}  // namespace substrate::kafka::schemas
