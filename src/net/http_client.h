#pragma once
// A small blocking HTTP/1.1 client (plain http:// only) for calls off the shards: the schema
// registry client, tools and tests. Beast is included by http_client.cc only.
//
// Every request has one deadline (`timeout_ms`) covering connect, write and read. The connection
// is kept alive between requests to the same client and re-opened once when a kept-alive
// connection turns out to be closed by the server. Responses larger than `response_bytes_max`
// are an error.
//
// Threading: one client per thread, or callers serialize requests (it holds one connection).
// Lifecycle: construct with a base URL (no I/O), request() any number of times; the destructor
// closes the connection.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/http_message.h"

namespace substrate::net {

enum class http_client_errc {
  // The URL is not http://host[:port][/path].
  invalid_url = 1,
  // Name resolution or connection failed (refused, unreachable).
  connect_failed,
  // The deadline passed before the response was complete.
  timed_out,
  // The connection broke or the response was not valid HTTP, or too large.
  protocol_error,
};

const std::error_category& http_client_category();
inline std::error_code make_error_code(http_client_errc e) {
  return {static_cast<int>(e), http_client_category()};
}

struct http_client_options {
  std::int64_t timeout_ms = 10'000;
  std::size_t response_bytes_max = 16 << 20;
  bool keep_alive = true;
};

class http_client {
public:
  // `base_url`: http://host[:port][/prefix]; request targets are appended to the prefix.
  // Throws std::invalid_argument naming the URL when it is not one.
  explicit http_client(std::string_view base_url, http_client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // `target` starts with '/'. `request.headers` are sent as given, plus Host, Content-Length and
  // (unless keep_alive) Connection: close. Any HTTP status is a response; only transport
  // failures are errors (http_client_errc).
  [[nodiscard]] result<http_response> request(std::string_view method, std::string_view target,
                                              const header_list& headers = {}, std::string_view body = {});

  [[nodiscard]] const std::string& host() const { return host_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }

  struct connection;

private:
  [[nodiscard]] result<http_response> attempt(std::string_view method, std::string_view target,
                                              const header_list& headers, std::string_view body, bool& reused);

  std::string host_;
  std::uint16_t port_ = 80;
  std::string prefix_;
  http_client_options options_;
  std::unique_ptr<connection> connection_;
};

}  // namespace substrate::net

template <>
struct std::is_error_code_enum<substrate::net::http_client_errc> : std::true_type {};
