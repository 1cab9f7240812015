// Feeds arbitrary bytes through the request path of the HTTP server: Beast's parser with the
// server's limits, then everything of ours that reads request bytes (target splitting, routing
// with path parameters and percent-decoding, header and query lookups).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "net/router.h"

namespace {

namespace http = boost::beast::http;
using substrate::net::http_request;
using substrate::net::http_response;

const substrate::net::router& routes() {
  static const substrate::net::router instance = [] {
    substrate::net::router r;
    auto h = [](http_request&) -> boost::asio::awaitable<http_response> { co_return http_response{}; };
    r.add("GET", "/healthz", h);
    r.add("POST", "/api/v1/events/{key}", h);
    r.add("POST", "/api/v1/media/{kind}", h);
    r.add("GET", "/storage/v1/object/{bucket}/{key*}", h);
    r.add("PUT", "/{bucket}/{key*}", h);
    r.add_websocket("/realtime/v1/websocket",
                    [](const http_request&) -> substrate::net::websocket_accept { return http_response{}; });
    return r;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec && ec != http::error::need_more) return 0;
  if (!parser.is_header_done()) return 0;

  const auto& message = parser.get();
  http_request request;
  request.method = std::string(message.method_string());
  request.set_target(std::string(message.target()));
  for (const auto& field : message)
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));

  auto match = routes().find(request.method, request.path);
  request.path_params = std::move(match.params);
  (void)request.header("Origin");
  (void)request.header("content-type");
  (void)request.query_param("select");
  (void)request.query_param("apikey");
  (void)substrate::net::percent_decode(request.path, true);
  return 0;
}
