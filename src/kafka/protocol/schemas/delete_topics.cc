// DeleteTopics (key 20), v0-1 as in spec 2.5; v2-5 (flexible from 4, error messages from 5)
// follow DeleteTopicsRequest.json / DeleteTopicsResponse.json. v6+ (topic ids) is not described.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    array_of("topic_names", string),
    field("timeout_ms", int32),
};
constexpr struct_desc request{"DeleteTopicsRequest", request_fields};

constexpr field_desc deletable_topic_result_fields[] = {
    field("name", string),
    field("error_code", int16),
    field("error_message", string, 5).nullable(5).fallback_null(),
};
constexpr struct_desc deletable_topic_result{"DeletableTopicResult", deletable_topic_result_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32, 1),
    array_of("responses", deletable_topic_result),
};
constexpr struct_desc response{"DeleteTopicsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::delete_topics,
    .name = "DeleteTopics",
    .version_min = 0,
    .version_max = 5,
    .flexible_from = 4,
    .advertised_min = 0,
    .advertised_max = 1,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& delete_topics() {
  return schema;
}

}  // namespace substrate::kafka::schemas
