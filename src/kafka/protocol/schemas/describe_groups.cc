// DescribeGroups (key 15), v0-2 as in spec 2.5; v3 (authorized operations), v4 (group
// instance ids) and v5 (flexible) follow DescribeGroupsRequest.json / DescribeGroupsResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    array_of("groups", string),
    field("include_authorized_operations", boolean, 3),
};
constexpr struct_desc request{"DescribeGroupsRequest", request_fields};

constexpr field_desc described_group_member_fields[] = {
    field("member_id", string),      field("group_instance_id", string, 4).nullable(4).fallback_null(),
    field("client_id", string),      field("client_host", string),
    field("member_metadata", bytes), field("member_assignment", bytes),
};
constexpr struct_desc described_group_member{"DescribedGroupMember", described_group_member_fields};

constexpr field_desc described_group_fields[] = {
    field("error_code", int16),
    field("group_id", string),
    field("group_state", string),
    field("protocol_type", string),
    field("protocol_data", string),
    array_of("members", described_group_member),
    field("authorized_operations", int32, 3).fallback(-2147483648LL),
};
constexpr struct_desc described_group{"DescribedGroup", described_group_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    array_of("groups", described_group),
};
constexpr struct_desc response{"DescribeGroupsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::describe_groups,
    .name = "DescribeGroups",
    .version_min = 0,
    .version_max = 5,
    .flexible_from = 5,
    .advertised_min = 0,
    .advertised_max = 2,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& describe_groups() {
  return schema;
}

}  // namespace substrate::kafka::schemas
