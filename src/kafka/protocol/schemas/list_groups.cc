// ListGroups (key 16), v0-2 as in spec 2.5; v3 (flexible) and v4 (state filter) follow
// ListGroupsRequest.json / ListGroupsResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    array_of("states_filter", string, 4),
};
constexpr struct_desc request{"ListGroupsRequest", request_fields};

constexpr field_desc listed_group_fields[] = {
    field("group_id", string),
    field("protocol_type", string),
    field("group_state", string, 4),
};
constexpr struct_desc listed_group{"ListedGroup", listed_group_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    field("error_code", int16),
    array_of("groups", listed_group),
};
constexpr struct_desc response{"ListGroupsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::list_groups,
    .name = "ListGroups",
    .version_min = 0,
    .version_max = 4,
    .flexible_from = 3,
    .advertised_min = 0,
    .advertised_max = 2,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& list_groups() {
  return schema;
}

}  // namespace substrate::kafka::schemas
