// ListOffsets (key 2). Spec 2.5 lists v1-3; v0 (old-style offset arrays) and v4-7 (leader
// epochs, flexible from 6) follow ListOffsetsRequest.json / ListOffsetsResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc list_offsets_partition_fields[] = {
    field("partition_index", int32),
    field("current_leader_epoch", int32, 4).fallback(-1),
    field("timestamp", int64),
    field("max_num_offsets", int32).until(0).fallback(1),
};
constexpr struct_desc list_offsets_partition{"ListOffsetsPartition", list_offsets_partition_fields};

constexpr field_desc list_offsets_topic_fields[] = {
    field("name", string),
    array_of("partitions", list_offsets_partition),
};
constexpr struct_desc list_offsets_topic{"ListOffsetsTopic", list_offsets_topic_fields};

constexpr field_desc request_fields[] = {
    field("replica_id", int32),
    field("isolation_level", int8, 2),
    array_of("topics", list_offsets_topic),
};
constexpr struct_desc request{"ListOffsetsRequest", request_fields};

constexpr field_desc list_offsets_partition_response_fields[] = {
    field("partition_index", int32),
    field("error_code", int16),
    array_of("old_style_offsets", int64).until(0),
    field("timestamp", int64, 1).fallback(-1),
    field("offset", int64, 1).fallback(-1),
    field("leader_epoch", int32, 4).fallback(-1),
};
constexpr struct_desc list_offsets_partition_response{"ListOffsetsPartitionResponse",
                                                      list_offsets_partition_response_fields};

constexpr field_desc list_offsets_topic_response_fields[] = {
    field("name", string),
    array_of("partitions", list_offsets_partition_response),
};
constexpr struct_desc list_offsets_topic_response{"ListOffsetsTopicResponse", list_offsets_topic_response_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 2),
    array_of("topics", list_offsets_topic_response),
};
constexpr struct_desc response{"ListOffsetsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::list_offsets,
    .name = "ListOffsets",
    .version_min = 0,
    .version_max = 7,
    .flexible_from = 6,
    .advertised_min = 1,
    .advertised_max = 3,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& list_offsets() {
  return schema;
}

}  // namespace substrate::kafka::schemas
