#pragma once
// Kafka framing (spec 1.1 and 1.3): the int32 size prefix, request headers v1/v2 and response
// headers v0/v1, and which header version each (api_key, api_version) uses.
//
// Header version rule: a request uses header v2 iff its (api_key, api_version) is flexible,
// otherwise v1 (v0 is only used by ControlledShutdown v0, which is not described). A response
// uses header v1 iff flexible, except ApiVersions, whose response always uses header v0 (KIP-511)
// so a client can read it even when the broker rejected the requested version. Tagged fields of
// request headers are read and dropped (no header tags are defined for requests we serve).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/result.h"
#include "kafka/protocol/api_key.h"
#include "kafka/protocol/message.h"
#include "kafka/protocol/primitives.h"

namespace substrate::kafka {

// Kafka's socket.request.max.bytes default.
inline constexpr std::int32_t frame_bytes_max_default = 104857600;
inline constexpr std::size_t frame_size_prefix_bytes = 4;

// Reads a size prefix: negative is errc::invalid_length, above `frame_bytes_max`
// errc::frame_too_large (the caller closes the connection either way).
[[nodiscard]] result<std::int32_t> read_frame_size(std::span<const std::uint8_t, frame_size_prefix_bytes> prefix,
                                                   std::int32_t frame_bytes_max = frame_bytes_max_default);

// One complete frame found at the start of a buffer.
struct frame_view {
  std::span<const std::uint8_t> body;  // the bytes after the size prefix
  std::size_t consumed_bytes;          // prefix + body
};

// Splits the first frame off `buffer`; std::nullopt when the buffer does not hold a complete
// frame yet. Size errors are reported as soon as the prefix is complete.
[[nodiscard]] result<std::optional<frame_view>> next_frame(std::span<const std::uint8_t> buffer,
                                                           std::int32_t frame_bytes_max = frame_bytes_max_default);

// 1 or 2; the key must be known (unknown keys are rejected before this is asked).
[[nodiscard]] std::int16_t request_header_version(api_key key, std::int16_t api_version);
// 0 or 1; always 0 for ApiVersions.
[[nodiscard]] std::int16_t response_header_version(api_key key, std::int16_t api_version);

struct request_header {
  api_key key = api_key::api_versions;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;  // a classic (int16-length) nullable string, even in v2
  friend bool operator==(const request_header&, const request_header&) = default;
};

struct parsed_request {
  request_header header;
  std::int16_t header_version = 1;
  std::span<const std::uint8_t> body;  // borrowed from the frame
};

// Parses the header of a request frame body (the bytes after the size prefix). An api_key the
// codec does not describe is errc::unknown_api_key (its header version cannot be known); an
// unsupported version of a known key parses fine: check `supported()` before decoding the body.
[[nodiscard]] result<parsed_request> parse_request(std::span<const std::uint8_t> frame);

struct parsed_response {
  std::int32_t correlation_id = 0;
  std::span<const std::uint8_t> body;
};

// Parses a response frame body, given the request it answers (responses do not name their API).
[[nodiscard]] result<parsed_response> parse_response(api_key key, std::int16_t api_version,
                                                     std::span<const std::uint8_t> frame);

// A complete request frame: size prefix, header of the right version, encoded body.
[[nodiscard]] result<bytes> encode_request(const request_header& header, const message& body);
// A complete response frame: size prefix, header of the right version, encoded body.
[[nodiscard]] result<bytes> encode_response(api_key key, std::int16_t api_version, std::int32_t correlation_id,
                                            const message& body);

}  // namespace substrate::kafka
