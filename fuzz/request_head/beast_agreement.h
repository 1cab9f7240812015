#pragma once
// Whether Beast, with the same limits, reads bytes that parse_request_head accepted the same way:
// method, target, version, keep-alive, the fields (each name's values in order), the body, and the
// bytes consumed. Used by the differential fuzz target (fuzz/request_head) and by
// tests/unit/net/request_head_test.cc.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "net/request_head.h"

namespace substrate::net::testing {

// nullopt when Beast agrees with `head`, else what differs.
inline std::optional<std::string> beast_disagreement(std::string_view bytes, const request_head& head,
                                                     std::size_t head_bytes_max, std::uint64_t body_bytes_max) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(head_bytes_max));
  parser.body_limit(body_bytes_max);
  parser.eager(true);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) return "Beast refused it: " + ec.message();
  if (!parser.is_done()) return std::string("Beast wants more bytes");
  if (used != head.head_bytes + head.content_length) return std::string("a different length");
  const auto& message = parser.get();
  if (message.method_string() != head.method) return std::string("a different method");
  if (message.target() != head.target) return std::string("a different target");
  if (message.version() != head.version) return std::string("a different version");
  if (message.keep_alive() != head.keep_alive) return std::string("a different keep-alive");
  if (message.body() != head.body(bytes)) return std::string("a different body");
  // Fields: the same list up to the order of different names. The fast path keeps arrival
  // order; Beast moves a repeated name next to its first occurrence. Lookups are by name, so
  // the values of each name, in order, are what must agree: compare both lists stably sorted by
  // the lower-cased name.
  using field_list = std::vector<std::pair<std::string, std::string>>;
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const auto by_name = [&](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); };
  field_list ours;
  for (std::size_t i = 0; i < head.field_count; ++i) ours.emplace_back(head.fields[i].first, head.fields[i].second);
  field_list beasts;
  for (const auto& field : message) beasts.emplace_back(field.name_string(), field.value());
  std::stable_sort(ours.begin(), ours.end(), by_name);
  std::stable_sort(beasts.begin(), beasts.end(), by_name);
  if (ours != beasts) return std::string("different fields");
  return std::nullopt;
}

}  // namespace substrate::net::testing
