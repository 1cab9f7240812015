// CreateTopics (key 19), v0-4 as in spec 2.5; v5 (flexible, configs in the response), v6
// and v7 (topic ids) follow CreateTopicsRequest.json / CreateTopicsResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc creatable_replica_assignment_fields[] = {
    field("partition_index", int32),
    array_of("broker_ids", int32),
};
constexpr struct_desc creatable_replica_assignment{"CreatableReplicaAssignment", creatable_replica_assignment_fields};

constexpr field_desc creatable_topic_config_fields[] = {
    field("name", string),
    field("value", string).nullable(),
};
constexpr struct_desc creatable_topic_config{"CreatableTopicConfig", creatable_topic_config_fields};

constexpr field_desc creatable_topic_fields[] = {
    field("name", string),
    field("num_partitions", int32),
    field("replication_factor", int16),
    array_of("assignments", creatable_replica_assignment),
    array_of("configs", creatable_topic_config),
};
constexpr struct_desc creatable_topic{"CreatableTopic", creatable_topic_fields};

constexpr field_desc request_fields[] = {
    array_of("topics", creatable_topic),
    field("timeout_ms", int32).fallback(60000),
    field("validate_only", boolean, 1),
};
constexpr struct_desc request{"CreateTopicsRequest", request_fields};

constexpr field_desc creatable_topic_configs_fields[] = {
    field("name", string, 5),          field("value", string, 5).nullable(5),
    field("read_only", boolean, 5),    field("config_source", int8, 5).fallback(-1),
    field("is_sensitive", boolean, 5),
};
constexpr struct_desc creatable_topic_configs{"CreatableTopicConfigs", creatable_topic_configs_fields};

constexpr field_desc creatable_topic_result_fields[] = {
    field("name", string),
    field("topic_id", uuid, 7),
    field("error_code", int16),
    field("error_message", string, 1).nullable().fallback_null(),
    field("topic_config_error_code", int16, 5).tagged(0),
    field("num_partitions", int32, 5).fallback(-1),
    field("replication_factor", int16, 5).fallback(-1),
    array_of("configs", creatable_topic_configs, 5).nullable(5),
};
constexpr struct_desc creatable_topic_result{"CreatableTopicResult", creatable_topic_result_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 2),
    array_of("topics", creatable_topic_result),
};
constexpr struct_desc response{"CreateTopicsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::create_topics,
    .name = "CreateTopics",
    .version_min = 0,
    .version_max = 7,
    .flexible_from = 5,
    .advertised_min = 0,
    .advertised_max = 4,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& create_topics() {
  return schema;
}

}  // namespace substrate::kafka::schemas
