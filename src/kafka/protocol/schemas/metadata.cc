// Metadata (key 3). Spec 2.5 lists v1-6; v0 and v7-12 (leader epochs, authorized operations,
// flexible from 9, topic ids from 10, nullable topic names from 12) follow MetadataRequest.json /
// MetadataResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

// Kafka's "authorized operations not requested" marker (INT32_MIN).
constexpr std::int64_t authorized_operations_unknown = -2147483648LL;

constexpr field_desc metadata_request_topic_fields[] = {
    field("topic_id", uuid, 10),
    field("name", string).nullable(10),
};
constexpr struct_desc metadata_request_topic{"MetadataRequestTopic", metadata_request_topic_fields};

constexpr field_desc request_fields[] = {
    // v0: an empty array means all topics; from v1 null means all and empty means none.
    array_of("topics", metadata_request_topic).nullable(1),
    field("allow_auto_topic_creation", boolean, 4).fallback(1),
    field("include_cluster_authorized_operations", boolean, 8).until(10),
    field("include_topic_authorized_operations", boolean, 8),
};
constexpr struct_desc request{"MetadataRequest", request_fields};

constexpr field_desc metadata_response_broker_fields[] = {
    field("node_id", int32),
    field("host", string),
    field("port", int32),
    field("rack", string, 1).nullable(1).fallback_null(),
};
constexpr struct_desc metadata_response_broker{"MetadataResponseBroker", metadata_response_broker_fields};

constexpr field_desc metadata_response_partition_fields[] = {
    field("error_code", int16),
    field("partition_index", int32),
    field("leader_id", int32),
    field("leader_epoch", int32, 7).fallback(-1),
    array_of("replica_nodes", int32),
    array_of("isr_nodes", int32),
    array_of("offline_replicas", int32, 5),
};
constexpr struct_desc metadata_response_partition{"MetadataResponsePartition", metadata_response_partition_fields};

constexpr field_desc metadata_response_topic_fields[] = {
    field("error_code", int16),
    field("name", string).nullable(12),
    field("topic_id", uuid, 10),
    field("is_internal", boolean, 1),
    array_of("partitions", metadata_response_partition),
    field("topic_authorized_operations", int32, 8).fallback(authorized_operations_unknown),
};
constexpr struct_desc metadata_response_topic{"MetadataResponseTopic", metadata_response_topic_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 3),
    array_of("brokers", metadata_response_broker),
    field("cluster_id", string, 2).nullable(2).fallback_null(),
    field("controller_id", int32, 1).fallback(-1),
    array_of("topics", metadata_response_topic),
    field("cluster_authorized_operations", int32, 8).until(10).fallback(authorized_operations_unknown),
};
constexpr struct_desc response{"MetadataResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::metadata,
    .name = "Metadata",
    .version_min = 0,
    .version_max = 12,
    .flexible_from = 9,
    .advertised_min = 1,
    .advertised_max = 6,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& metadata() {
  return schema;
}

}  // namespace substrate::kafka::schemas
