#pragma once
// The HTTP server's fast path for the common request: its head (request line and header fields)
// and its whole body already in the read buffer, framed by Content-Length or without a body.
// parse_request_head() either accepts such a request, with views into the buffer, or declines,
// and the server parses the bytes with Beast exactly as before. It accepts only what Beast
// accepts and means the same thing (the differential fuzz target fuzz/request_head checks this),
// and declines everything it does not need to handle: chunked bodies, Expect, Upgrade, obs-fold,
// repeated or odd Content-Length, an unusual Connection, a head or body over the limits (Beast
// then gives the error answers), and any request not complete in the buffer.
//
// Why: Beast checks a header value byte by byte and allocates every field; on the gateway's
// path (a bearer token of a few hundred bytes per request) it was the largest single cost of an
// event, ~5k instructions of ~34k. This scan is table-driven and allocates nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace substrate::net {

struct request_head {
  static constexpr std::size_t fields_max = 32;  // more: declined (Beast takes it)

  std::string_view method;                                                         // a token, as received
  std::string_view target;                                                         // visible ASCII, as received
  unsigned version = 11;                                                           // 10 or 11
  std::array<std::pair<std::string_view, std::string_view>, fields_max> fields{};  // name, value (OWS trimmed)
  std::size_t field_count = 0;
  std::size_t head_bytes = 0;      // request line and fields, through the empty line
  std::size_t content_length = 0;  // the body follows the head in the buffer
  bool keep_alive = true;          // HTTP/1.1 unless "Connection: close"; HTTP/1.0 with "keep-alive"

  [[nodiscard]] std::string_view body(std::string_view buffer) const {
    return buffer.substr(head_bytes, content_length);
  }
};

// `buffer` starts at the first byte of a request. nullopt: not handled here (see above).
[[nodiscard]] std::optional<request_head> parse_request_head(std::string_view buffer, std::size_t head_bytes_max,
                                                             std::uint64_t body_bytes_max);
// The same into `head`, which the HTTP server keeps per connection (no kilobyte of fields to
// clear and copy per request); false: not handled here, and `head` holds nothing of use.
[[nodiscard]] bool parse_request_head(std::string_view buffer, std::size_t head_bytes_max, std::uint64_t body_bytes_max,
                                      request_head& head);

}  // namespace substrate::net
