// ApiVersions (key 18), v0-3 as in spec 2.5. The v3 response's tagged fields follow
// ApiVersionsResponse.json; a broker that has no features leaves them at their defaults, which
// the encoder omits.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    field("client_software_name", string, 3),
    field("client_software_version", string, 3),
};
constexpr struct_desc request{"ApiVersionsRequest", request_fields};

constexpr field_desc api_version_fields[] = {
    field("api_key", int16),
    field("min_version", int16),
    field("max_version", int16),
};
constexpr struct_desc api_version{"ApiVersion", api_version_fields};

constexpr field_desc supported_feature_key_fields[] = {
    field("name", string, 3),
    field("min_version", int16, 3),
    field("max_version", int16, 3),
};
constexpr struct_desc supported_feature_key{"SupportedFeatureKey", supported_feature_key_fields};

constexpr field_desc finalized_feature_key_fields[] = {
    field("name", string, 3),
    field("max_version_level", int16, 3),
    field("min_version_level", int16, 3),
};
constexpr struct_desc finalized_feature_key{"FinalizedFeatureKey", finalized_feature_key_fields};

constexpr field_desc response_fields[] = {
    field("error_code", int16),
    array_of("api_keys", api_version),
    field("throttle_time_ms", int32, 1),
    array_of("supported_features", supported_feature_key, 3).tagged(0),
    field("finalized_features_epoch", int64, 3).fallback(-1).tagged(1),
    array_of("finalized_features", finalized_feature_key, 3).tagged(2),
    field("zk_migration_ready", boolean, 3).tagged(3),
};
constexpr struct_desc response{"ApiVersionsResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::api_versions,
    .name = "ApiVersions",
    .version_min = 0,
    .version_max = 3,
    .flexible_from = 3,
    .advertised_min = 0,
    .advertised_max = 3,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& api_versions() {
  return schema;
}

}  // namespace substrate::kafka::schemas
