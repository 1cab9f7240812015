// Differential: whatever parse_request_head (the HTTP server's fast path) accepts, Beast (the
// server's parser for everything else) must accept too and read the same way: method, target,
// version, keep-alive, the fields (each name's values in order), the body, and the bytes consumed. A disagreement
// aborts. Inputs it declines are not its business.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "net/request_head.h"

namespace {
namespace http = boost::beast::http;

void require(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Small limits, so the limit checks are reached too.
  constexpr std::size_t head_max = 512;
  constexpr std::uint64_t body_max = 256;
  const auto head = substrate::net::parse_request_head(bytes, head_max, body_max);
  if (!head) return 0;

  http::request_parser<http::string_body> parser;
  parser.header_limit(head_max);
  parser.body_limit(body_max);
  parser.eager(true);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(data, size), ec);
  require(!ec && parser.is_done());
  require(used == head->head_bytes + head->content_length);
  const auto& message = parser.get();
  require(message.method_string() == head->method);
  require(message.target() == head->target);
  require(message.version() == head->version);
  require(message.keep_alive() == head->keep_alive);
  require(message.body() == head->body(bytes));
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
  for (std::size_t i = 0; i < head->field_count; ++i) {
    ours.emplace_back(head->fields[i].first, head->fields[i].second);
  }
  field_list beasts;
  for (const auto& field : message) beasts.emplace_back(field.name_string(), field.value());
  std::stable_sort(ours.begin(), ours.end(), by_name);
  std::stable_sort(beasts.begin(), beasts.end(), by_name);
  require(ours == beasts);
  return 0;
}
