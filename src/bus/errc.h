#pragma once
// Error codes of the bus (registry client, serializer, producer, reader, outbox relay). Every
// error also carries a context naming the subject, schema id, topic/partition or row, and the
// HTTP status / Confluent error code or librdkafka error behind it. Edges map them once: the
// gateway answers 503 for registry_unavailable and broker_unavailable, 400 for the Avro
// library's encoding errors (avro::errc, passed through unchanged).

#include <system_error>

namespace substrate::bus {

enum class errc {
  // The registry did not answer (connect failure, timeout, HTTP 5xx): retry later.
  registry_unavailable = 1,
  // The subject does not exist (Confluent 40401) or has no such version (40402).
  subject_not_found,
  // No schema with this id (40403), or the schema is not registered under the subject.
  schema_not_found,
  // The registry refused the request (invalid schema 42201, incompatible 409, 401, other 4xx).
  registry_rejected,
  // The registry's answer is not what the API promises (not JSON, no id, unparsable schema).
  invalid_registry_response,
  // The topic has neither an embedded schema nor a registered `<topic>-value` subject.
  no_schema_for_topic,
  // The bytes are not a Confluent-framed Avro value of a known schema.
  invalid_value,
  // No broker reachable, or the partition has no leader, until the delivery timeout.
  broker_unavailable,
  // The broker refused the record (too large, unknown topic, not authorized ...).
  produce_rejected,
  // The producer hit a fatal error (idempotence state lost); it must be recreated.
  producer_fatal,
  // flush() or a read did not finish within its timeout.
  timed_out,
  // The client was configured wrongly (librdkafka rejected a property).
  invalid_config,
  // A database statement of the outbox relay failed.
  database_error,
};

const std::error_category& bus_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), bus_category()};
}

}  // namespace substrate::bus

template <>
struct std::is_error_code_enum<substrate::bus::errc> : std::true_type {};
