// OffsetFetch (key 9), v0-7 as in spec 2.5 (flexible from 6) and OffsetFetchRequest.json /
// OffsetFetchResponse.json. v8+ (batched groups) is not described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc offset_fetch_request_topic_fields[] = {
    field("name", string),
    array_of("partition_indexes", int32),
};
constexpr struct_desc offset_fetch_request_topic{"OffsetFetchRequestTopic", offset_fetch_request_topic_fields};

constexpr field_desc request_fields[] = {
    field("group_id", string),
    // From v2, null asks for every committed partition of the group.
    array_of("topics", offset_fetch_request_topic).nullable(2),
    field("require_stable", boolean, 7),
};
constexpr struct_desc request{"OffsetFetchRequest", request_fields};

constexpr field_desc offset_fetch_response_partition_fields[] = {
    field("partition_index", int32),
    field("committed_offset", int64),
    field("committed_leader_epoch", int32, 5).fallback(-1),
    field("metadata", string).nullable(),
    field("error_code", int16),
};
constexpr struct_desc offset_fetch_response_partition{"OffsetFetchResponsePartition",
                                                      offset_fetch_response_partition_fields};

constexpr field_desc offset_fetch_response_topic_fields[] = {
    field("name", string),
    array_of("partitions", offset_fetch_response_partition),
};
constexpr struct_desc offset_fetch_response_topic{"OffsetFetchResponseTopic", offset_fetch_response_topic_fields};

// The top-level error code comes last.
constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 3),
    array_of("topics", offset_fetch_response_topic),
    field("error_code", int16, 2),
};
constexpr struct_desc response{"OffsetFetchResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::offset_fetch,
    .name = "OffsetFetch",
    .version_min = 0,
    .version_max = 7,
    .flexible_from = 6,
    .advertised_min = 1,
    .advertised_max = 7,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& offset_fetch() {
  return schema;
}

}  // namespace substrate::kafka::schemas
