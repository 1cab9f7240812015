// LeaveGroup (key 13), v0-3 as in spec 2.5; v4 (flexible) follows LeaveGroupRequest.json /
// LeaveGroupResponse.json. v5 (reasons) is not described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc member_identity_fields[] = {
    field("member_id", string, 3),
    field("group_instance_id", string, 3).nullable(3).fallback_null(),
};
constexpr struct_desc member_identity{"MemberIdentity", member_identity_fields};

constexpr field_desc request_fields[] = {
    field("group_id", string),
    field("member_id", string).until(2),
    array_of("members", member_identity, 3),
};
constexpr struct_desc request{"LeaveGroupRequest", request_fields};

constexpr field_desc member_response_fields[] = {
    field("member_id", string, 3),
    field("group_instance_id", string, 3).nullable(3),
    field("error_code", int16, 3),
};
constexpr struct_desc member_response{"MemberResponse", member_response_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    field("error_code", int16),
    array_of("members", member_response, 3),
};
constexpr struct_desc response{"LeaveGroupResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::leave_group,
    .name = "LeaveGroup",
    .version_min = 0,
    .version_max = 4,
    .flexible_from = 4,
    .advertised_min = 0,
    .advertised_max = 3,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& leave_group() {
  return schema;
}

}  // namespace substrate::kafka::schemas
