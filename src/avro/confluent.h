#pragma once
// The Confluent wire format of a Kafka value (kafka-compat.md 7.7, contracts.md 0.2):
//   byte 0: magic 0x00; bytes 1..4: schema id, int32 big-endian; bytes 5..: the Avro datum.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace substrate::avro {

inline constexpr std::size_t confluent_header_bytes = 5;

struct confluent_frame {
  std::int32_t schema_id = 0;
  std::span<const std::uint8_t> body;
};

// Appends the 5-byte header for `schema_id`; the caller appends the Avro datum after it.
void append_confluent_header(std::string& out, std::int32_t schema_id);

// Splits a framed value. A value shorter than 5 bytes or with a magic byte other than 0 is
// errc::invalid_framing (consumers skip and count it, never crash).
[[nodiscard]] result<confluent_frame> parse_confluent_frame(std::span<const std::uint8_t> value);

}  // namespace substrate::avro
