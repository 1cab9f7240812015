// Fetch (key 1). Spec 2.5 lists v4-11; v12 (flexible, tagged cluster id, diverging epoch,
// current leader and snapshot id) follows FetchRequest.json / FetchResponse.json. v13+ (topic
// ids instead of names) is not described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc fetch_partition_fields[] = {
    field("partition", int32),
    field("current_leader_epoch", int32, 9).fallback(-1),
    field("fetch_offset", int64),
    field("last_fetched_epoch", int32, 12).fallback(-1),
    field("log_start_offset", int64, 5).fallback(-1),
    field("partition_max_bytes", int32),
};
constexpr struct_desc fetch_partition{"FetchPartition", fetch_partition_fields};

constexpr field_desc fetch_topic_fields[] = {
    field("topic", string),
    array_of("partitions", fetch_partition),
};
constexpr struct_desc fetch_topic{"FetchTopic", fetch_topic_fields};

constexpr field_desc forgotten_topic_fields[] = {
    field("topic", string, 7),
    array_of("partitions", int32, 7),
};
constexpr struct_desc forgotten_topic{"ForgottenTopic", forgotten_topic_fields};

constexpr field_desc request_fields[] = {
    field("cluster_id", string, 12).nullable(12).fallback_null().tagged(0),
    field("replica_id", int32),
    field("max_wait_ms", int32),
    field("min_bytes", int32),
    field("max_bytes", int32, 3).fallback(0x7fffffff),
    field("isolation_level", int8, 4),
    field("session_id", int32, 7),
    field("session_epoch", int32, 7).fallback(-1),
    array_of("topics", fetch_topic),
    array_of("forgotten_topics_data", forgotten_topic, 7),
    field("rack_id", string, 11),
};
constexpr struct_desc request{"FetchRequest", request_fields};

constexpr field_desc epoch_end_offset_fields[] = {
    field("epoch", int32, 12).fallback(-1),
    field("end_offset", int64, 12).fallback(-1),
};
constexpr struct_desc epoch_end_offset{"EpochEndOffset", epoch_end_offset_fields};

constexpr field_desc leader_id_and_epoch_fields[] = {
    field("leader_id", int32, 12).fallback(-1),
    field("leader_epoch", int32, 12).fallback(-1),
};
constexpr struct_desc leader_id_and_epoch{"LeaderIdAndEpoch", leader_id_and_epoch_fields};

constexpr field_desc snapshot_id_fields[] = {
    field("end_offset", int64).fallback(-1),
    field("epoch", int32).fallback(-1),
};
constexpr struct_desc snapshot_id{"SnapshotId", snapshot_id_fields};

constexpr field_desc aborted_transaction_fields[] = {
    field("producer_id", int64, 4),
    field("first_offset", int64, 4),
};
constexpr struct_desc aborted_transaction{"AbortedTransaction", aborted_transaction_fields};

constexpr field_desc partition_data_fields[] = {
    field("partition_index", int32),
    field("error_code", int16),
    field("high_watermark", int64),
    field("last_stable_offset", int64, 4).fallback(-1),
    field("log_start_offset", int64, 5).fallback(-1),
    struct_of("diverging_epoch", epoch_end_offset, 12).tagged(0),
    struct_of("current_leader", leader_id_and_epoch, 12).tagged(1),
    struct_of("snapshot_id", snapshot_id, 12).tagged(2),
    array_of("aborted_transactions", aborted_transaction, 4).nullable(4),
    field("preferred_read_replica", int32, 11).fallback(-1),
    field("records", records).nullable(),
};
constexpr struct_desc partition_data{"PartitionData", partition_data_fields};

constexpr field_desc fetchable_topic_response_fields[] = {
    field("topic", string),
    array_of("partitions", partition_data),
};
constexpr struct_desc fetchable_topic_response{"FetchableTopicResponse", fetchable_topic_response_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    field("error_code", int16, 7),
    field("session_id", int32, 7),
    array_of("responses", fetchable_topic_response),
};
constexpr struct_desc response{"FetchResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::fetch,
    .name = "Fetch",
    .version_min = 4,
    .version_max = 12,
    .flexible_from = 12,
    .advertised_min = 4,
    .advertised_max = 11,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& fetch() {
  return schema;
}

}  // namespace substrate::kafka::schemas
