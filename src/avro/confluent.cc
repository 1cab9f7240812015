#include "avro/confluent.h"

#include <fmt/format.h>

#include "avro/errc.h"

namespace substrate::avro {

void append_confluent_header(std::string& out, std::int32_t schema_id) {
  auto id = static_cast<std::uint32_t>(schema_id);
  const char header[confluent_header_bytes] = {0, static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                               static_cast<char>(id >> 8), static_cast<char>(id)};
  out.append(header, confluent_header_bytes);
}

result<confluent_frame> parse_confluent_frame(std::span<const std::uint8_t> value) {
  if (value.size() < confluent_header_bytes) {
    return make_error(errc::invalid_framing,
                      fmt::format("value of {} bytes is shorter than the 5-byte header", value.size()));
  }
  if (value[0] != 0) return make_error(errc::invalid_framing, fmt::format("magic byte {}, expected 0", value[0]));
  auto id = (static_cast<std::uint32_t>(value[1]) << 24) | (static_cast<std::uint32_t>(value[2]) << 16) |
            (static_cast<std::uint32_t>(value[3]) << 8) | static_cast<std::uint32_t>(value[4]);
  return confluent_frame{static_cast<std::int32_t>(id), value.subspan(confluent_header_bytes)};
}

}  // namespace substrate::avro
