// OffsetCommit (key 8). Spec 2.5 lists v2-7; v0-1 and v8 (flexible) follow
// OffsetCommitRequest.json / OffsetCommitResponse.json. v9 (KIP-848 member epochs) is not
// described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc offset_commit_request_partition_fields[] = {
    field("partition_index", int32),
    field("committed_offset", int64),
    field("committed_leader_epoch", int32, 6).fallback(-1),
    field("commit_timestamp", int64, 1).until(1).fallback(-1),
    field("committed_metadata", string).nullable(),
};
constexpr struct_desc offset_commit_request_partition{"OffsetCommitRequestPartition",
                                                      offset_commit_request_partition_fields};

constexpr field_desc offset_commit_request_topic_fields[] = {
    field("name", string),
    array_of("partitions", offset_commit_request_partition),
};
constexpr struct_desc offset_commit_request_topic{"OffsetCommitRequestTopic", offset_commit_request_topic_fields};

constexpr field_desc request_fields[] = {
    field("group_id", string),
    field("generation_id_or_member_epoch", int32, 1).fallback(-1),
    field("member_id", string, 1),
    field("group_instance_id", string, 7).nullable(7).fallback_null(),
    field("retention_time_ms", int64, 2).until(4).fallback(-1),
    array_of("topics", offset_commit_request_topic),
};
constexpr struct_desc request{"OffsetCommitRequest", request_fields};

constexpr field_desc offset_commit_response_partition_fields[] = {
    field("partition_index", int32),
    field("error_code", int16),
};
constexpr struct_desc offset_commit_response_partition{"OffsetCommitResponsePartition",
                                                       offset_commit_response_partition_fields};

constexpr field_desc offset_commit_response_topic_fields[] = {
    field("name", string),
    array_of("partitions", offset_commit_response_partition),
};
constexpr struct_desc offset_commit_response_topic{"OffsetCommitResponseTopic", offset_commit_response_topic_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 3),
    array_of("topics", offset_commit_response_topic),
};
constexpr struct_desc response{"OffsetCommitResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::offset_commit,
    .name = "OffsetCommit",
    .version_min = 0,
    .version_max = 8,
    .flexible_from = 8,
    .advertised_min = 2,
    .advertised_max = 7,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& offset_commit() {
  return schema;
}

}  // namespace substrate::kafka::schemas
