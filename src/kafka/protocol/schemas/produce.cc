// Produce (key 0). Spec 2.5 lists v3-7; v8 (record errors) and v9 (flexible) follow
// ProduceRequest.json / ProduceResponse.json. v10+ (KIP-951 leader hints) is not described.
//
// Advertised from v0 although only RecordBatch v2 is accepted: librdkafka 2.0.2 compresses a
// batch with gzip, snappy or lz4 only if the broker's Produce range contains v0
// (rdkafka_msgset_writer.c checks `rd_kafka_broker_ApiVersion_supported(Produce, 0, 0)` and
// otherwise logs "Broker does not support compression type gzip: not compressing batch"), so
// with a minimum of 3 every kcat/librdkafka/ClickHouse producer silently sent those codecs
// uncompressed. Clients pick the highest common version (7), so v0-2 requests come only from
// pre-0.11 clients; their MessageSet v0/v1 data gets INVALID_RECORD per partition, as any
// non-magic-2 data does (spec 2.4). The v0-2 shapes are the v3 ones without transactional_id
// (and without throttle_time_ms in the v0 response, log_append_time_ms before v2).
#include "kafka/protocol/schemas/schemas.h"

namespace substrate::kafka::schemas {
namespace {

using enum field_type;

constexpr field_desc partition_produce_data_fields[] = {
    field("index", int32),
    field("records", records).nullable(),
};
constexpr struct_desc partition_produce_data{"PartitionProduceData", partition_produce_data_fields};

constexpr field_desc topic_produce_data_fields[] = {
    field("name", string),
    array_of("partition_data", partition_produce_data),
};
constexpr struct_desc topic_produce_data{"TopicProduceData", topic_produce_data_fields};

constexpr field_desc request_fields[] = {
    field("transactional_id", string, 3).nullable(3).fallback_null(),
    field("acks", int16),
    field("timeout_ms", int32),
    array_of("topic_data", topic_produce_data),
};
constexpr struct_desc request{"ProduceRequest", request_fields};

constexpr field_desc batch_index_and_error_message_fields[] = {
    field("batch_index", int32, 8),
    field("batch_index_error_message", string, 8).nullable(8).fallback_null(),
};
constexpr struct_desc batch_index_and_error_message{"BatchIndexAndErrorMessage", batch_index_and_error_message_fields};

constexpr field_desc partition_produce_response_fields[] = {
    field("index", int32),
    field("error_code", int16),
    field("base_offset", int64),
    field("log_append_time_ms", int64, 2).fallback(-1),
    field("log_start_offset", int64, 5).fallback(-1),
    array_of("record_errors", batch_index_and_error_message, 8),
    field("error_message", string, 8).nullable(8).fallback_null(),
};
constexpr struct_desc partition_produce_response{"PartitionProduceResponse", partition_produce_response_fields};

constexpr field_desc topic_produce_response_fields[] = {
    field("name", string),
    array_of("partition_responses", partition_produce_response),
};
constexpr struct_desc topic_produce_response{"TopicProduceResponse", topic_produce_response_fields};

// Throttle time comes last in Produce responses.
constexpr field_desc response_fields[] = {
    array_of("responses", topic_produce_response),
    field("throttle_time_ms", int32, 1),
};
constexpr struct_desc response{"ProduceResponse", response_fields};

constexpr api_schema schema{
    .key = api_key::produce,
    .name = "Produce",
    .version_min = 0,
    .version_max = 9,
    .flexible_from = 9,
    .advertised_min = 0,
    .advertised_max = 7,
    .request = &request,
    .response = &response,
};

}  // namespace

const api_schema& produce() {
  return schema;
}

}  // namespace substrate::kafka::schemas
