// InitProducerId (key 22), v0-4 as in spec 2.5 (flexible from 2).
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc request_fields[] = {
    field("transactional_id", string).nullable(),
    field("transaction_timeout_ms", int32),
    field("producer_id", int64, 3).fallback(-1),
    field("producer_epoch", int16, 3).fallback(-1),
};
constexpr struct_desc request{"InitProducerIdRequest", request_fields};

constexpr field_desc response_fields[] = {
    field("throttle_time_ms", int32),
    field("error_code", int16),
    field("producer_id", int64).fallback(-1),
    field("producer_epoch", int16),
};
constexpr struct_desc response{"InitProducerIdResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::init_producer_id,
    .name = "InitProducerId",
    .version_min = 0,
    .version_max = 4,
    .flexible_from = 2,
    .advertised_min = 0,
    .advertised_max = 4,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& init_producer_id() {
  return schema;
}

}  // namespace substrate::kafka::schemas
