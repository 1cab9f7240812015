#pragma once
// Error codes of the Avro library. Every error also carries a context string that names where
// (a JSON path such as `$.payload.user_id`, or a byte offset) and what was expected and got.
// The registry and the gateway map these to their wire errors at their edges.

#include <system_error>

namespace substrate::avro {

enum class errc {
  // The schema text is not valid JSON or not a valid Avro schema (42201 at the registry).
  invalid_schema = 1,
  // The JSON datum is not valid JSON.
  invalid_json,
  // A JSON value has the wrong JSON type for the schema (a number where a string is expected).
  type_mismatch,
  // A record field without a default is missing from the JSON object.
  missing_field,
  // A number does not fit the Avro type (an int above 2^31-1, a long above 2^63-1).
  out_of_range,
  // A value has the right JSON type but is not allowed: unknown enum symbol, malformed uuid,
  // fixed of the wrong size, a bytes string with a code point above U+00FF, no union branch.
  invalid_value,
  // The Avro bytes end before the datum does.
  truncated,
  // The Avro bytes are malformed: negative length, boolean other than 0/1, union or enum index
  // out of range, string not UTF-8, block count above the limit.
  invalid_binary,
  // Bytes are left over after the datum.
  trailing_bytes,
  // Nesting deeper than the configured limit (JSON input, schema, or recursive data).
  too_deep,
  // The writer schema cannot be resolved to the reader schema.
  incompatible,
  // A Confluent-framed value is shorter than 5 bytes or its magic byte is not 0.
  invalid_framing,
};

const std::error_category& avro_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), avro_category()};
}

}  // namespace substrate::avro

template <>
struct std::is_error_code_enum<substrate::avro::errc> : std::true_type {};
