// DescribeConfigs (key 32), v0-2 as in spec 2.5; v3 (documentation) and v4 (flexible)
// follow DescribeConfigsRequest.json / DescribeConfigsResponse.json.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc describe_configs_resource_fields[] = {
    field("resource_type", int8),
    field("resource_name", string),
    // Null asks for every config of the resource.
    array_of("configuration_keys", string).nullable(),
};
constexpr struct_desc describe_configs_resource{"DescribeConfigsResource", describe_configs_resource_fields};

constexpr field_desc request_fields[] = {
    array_of("resources", describe_configs_resource),
    field("include_synonyms", boolean, 1),
    field("include_documentation", boolean, 3),
};
constexpr struct_desc request{"DescribeConfigsRequest", request_fields};

constexpr field_desc describe_configs_synonym_fields[] = {
    field("name", string, 1),
    field("value", string, 1).nullable(1),
    field("source", int8, 1),
};
constexpr struct_desc describe_configs_synonym{"DescribeConfigsSynonym", describe_configs_synonym_fields};

constexpr field_desc describe_configs_resource_result_fields[] = {
    field("name", string),
    field("value", string).nullable(),
    field("read_only", boolean),
    field("is_default", boolean).until(0),
    field("config_source", int8, 1).fallback(-1),
    field("is_sensitive", boolean),
    array_of("synonyms", describe_configs_synonym, 1),
    field("config_type", int8, 3),
    field("documentation", string, 3).nullable(),
};
constexpr struct_desc describe_configs_resource_result{"DescribeConfigsResourceResult",
                                                       describe_configs_resource_result_fields};

constexpr field_desc describe_configs_result_fields[] = {
    field("error_code", int16),
    field("error_message", string).nullable(),
    field("resource_type", int8),
    field("resource_name", string),
    array_of("configs", describe_configs_resource_result),
};
constexpr struct_desc describe_configs_result{"DescribeConfigsResult", describe_configs_result_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32),
    array_of("results", describe_configs_result),
};
constexpr struct_desc response{"DescribeConfigsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::describe_configs,
    .name = "DescribeConfigs",
    .version_min = 0,
    .version_max = 4,
    .flexible_from = 4,
    .advertised_min = 0,
    .advertised_max = 2,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& describe_configs() {
  return schema;
}

}  // namespace substrate::kafka::schemas
