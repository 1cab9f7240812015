// SaslHandshake (key 17), v0-1 as in spec 2.5. Never flexible.
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    field("mechanism", string),
};
constexpr struct_desc request{"SaslHandshakeRequest", request_fields};

constexpr field_desc response_fields[] = {
    field("error_code", int16),
    array_of("mechanisms", string),
};
constexpr struct_desc response{"SaslHandshakeResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::sasl_handshake,
    .name = "SaslHandshake",
    .version_min = 0,
    .version_max = 1,
    .flexible_from = version_unbounded,
    .advertised_min = 0,
    .advertised_max = 1,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& sasl_handshake() {
  return schema;
}

}  // namespace substrate::kafka::schemas
