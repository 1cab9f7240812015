#pragma once
// Error codes of the Kafka wire codec: what can be wrong with bytes that claim to be a Kafka
// frame, and what the encoder refuses to write. These are internal codes; the numbers a Kafka
// client sees are in error_codes.h.

#include <string>
#include <system_error>

namespace substrate::kafka {

enum class errc {
  truncated = 1,          // the input ended inside a value
  invalid_length,         // a negative length other than -1, or a string longer than 32767
  varint_too_long,        // an unsigned varint longer than 5 bytes (varlong: 10) or overflowing
  unsupported_version,    // the codec has no description of this (api_key, api_version)
  unknown_api_key,        // the codec does not know this api_key at all
  frame_too_large,        // the size prefix exceeds the configured maximum
  null_not_allowed,       // null where the field is not nullable in this version
  invalid_tagged_fields,  // tags not strictly ascending, or a known tag with a bad payload size
  trailing_bytes,         // bytes left over after the last field of a body or a tagged field
  schema_mismatch,        // encoder: the message does not belong to this api/kind, or a value
                          // has the wrong type for its field
  unknown_field,          // a field name that the message's description does not have
};

const std::error_category& kafka_protocol_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), kafka_protocol_category()};
}

}  // namespace substrate::kafka

template <>
struct std::is_error_code_enum<substrate::kafka::errc> : std::true_type {};
