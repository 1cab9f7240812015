// SaslAuthenticate (key 36), v0-1 as in spec 2.5; v2 (flexible) follows
// SaslAuthenticateRequest.json / SaslAuthenticateResponse.json. All three are served (Redpanda
// also advertises 0-2); librdkafka 2.0.2 uses 0, kafkajs 1.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    field("auth_bytes", bytes),
};
constexpr struct_desc request{"SaslAuthenticateRequest", request_fields};

constexpr field_desc response_fields[] = {
    field("error_code", int16),
    field("error_message", string).nullable(),
    field("auth_bytes", bytes),
    field("session_lifetime_ms", int64, 1),
};
constexpr struct_desc response{"SaslAuthenticateResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::sasl_authenticate,
    .name = "SaslAuthenticate",
    .version_min = 0,
    .version_max = 2,
    .flexible_from = 2,
    .advertised_min = 0,
    .advertised_max = 2,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& sasl_authenticate() {
  return schema;
}

}  // namespace substrate::kafka::schemas
