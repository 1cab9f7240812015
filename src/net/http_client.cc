#include "net/http_client.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace substrate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class http_client_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "http_client"; }
  std::string message(int code) const override {
    switch (static_cast<http_client_errc>(code)) {
      case http_client_errc::invalid_url:
        return "invalid URL";
      case http_client_errc::connect_failed:
        return "cannot connect";
      case http_client_errc::timed_out:
        return "timed out";
      case http_client_errc::protocol_error:
        return "HTTP exchange failed";
    }
    return "unknown http_client error";
  }
};

}  // namespace

const std::error_category& http_client_category() {
  static const http_client_category_impl category;
  return category;
}

struct http_client::connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool open = false;
};

http_client::http_client(std::string_view base_url, http_client_options options) : options_(options) {
  constexpr std::string_view scheme = "http://";
  if (base_url.substr(0, scheme.size()) != scheme) {
    throw std::invalid_argument(fmt::format("{}: expected an http:// URL", base_url));
  }
  auto rest = base_url.substr(scheme.size());
  const auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  prefix_ = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument(fmt::format("{}: credentials in the URL are not supported", base_url));
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument(fmt::format("{}: malformed host", base_url));
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      throw std::invalid_argument(fmt::format("{}: malformed host", base_url));
    }
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
  }
  if (!authority.empty()) {
    const auto digits = authority.substr(1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535) {
      throw std::invalid_argument(fmt::format("{}: invalid port", base_url));
    }
    port_ = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) throw std::invalid_argument(fmt::format("{}: no host", base_url));
  host_ = std::string(host);
}

http_client::~http_client() = default;

result<http_response> http_client::request(std::string_view method, std::string_view target, const header_list& headers,
                                           std::string_view body) {
  bool reused = false;
  auto response = attempt(method, target, headers, body, reused);
  // A kept-alive connection the server closed meanwhile fails at once: try once on a new one.
  if (!response && reused && response.error().code == http_client_errc::protocol_error) {
    response = attempt(method, target, headers, body, reused);
  }
  return response;
}

result<http_response> http_client::attempt(std::string_view method, std::string_view target, const header_list& headers,
                                           std::string_view body, bool& reused) {
  if (!connection_) connection_ = std::make_unique<connection>();
  auto& c = *connection_;
  reused = c.open;
  const auto deadline = std::chrono::milliseconds(options_.timeout_ms);
  const std::string where = fmt::format("{} http://{}:{}{}{}", method, host_, port_, prefix_, target);
  auto fail = [&](http_client_errc code, const beast::error_code& ec) -> result<http_response> {
    beast::error_code ignored;
    c.stream.socket().close(ignored);
    c.open = false;
    c.buffer.clear();
    const auto e = ec == beast::error::timeout ? http_client_errc::timed_out : code;
    return make_error(e, fmt::format("{}: {}", where, ec.message()));
  };

  beast::error_code ec;
  c.io.restart();
  if (!c.open) {
    tcp::resolver resolver(c.io);
    const auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) return fail(http_client_errc::connect_failed, ec);
    c.stream.expires_after(deadline);
    c.stream.async_connect(endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    c.io.run();
    if (ec) return fail(http_client_errc::connect_failed, ec);
    c.open = true;
    c.buffer.clear();
  }

  http::request<http::string_body> req;
  req.method_string(method);
  req.target(prefix_ + std::string(target));
  req.version(11);
  req.set(http::field::host, fmt::format("{}:{}", host_, port_));
  for (const auto& [name, value] : headers) req.insert(name, value);
  if (!options_.keep_alive) req.set(http::field::connection, "close");
  req.body() = std::string(body);
  req.prepare_payload();

  c.io.restart();
  c.stream.expires_after(deadline);
  http::async_write(c.stream, req, [&](const beast::error_code& e, std::size_t) { ec = e; });
  c.io.run();
  if (ec) return fail(http_client_errc::protocol_error, ec);

  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.response_bytes_max);
  parser.header_limit(64 * 1024);
  c.io.restart();
  http::async_read(c.stream, c.buffer, parser, [&](const beast::error_code& e, std::size_t) { ec = e; });
  c.io.run();
  if (ec) return fail(http_client_errc::protocol_error, ec);
  c.stream.expires_never();

  auto& res = parser.get();
  http_response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body());
  if (!options_.keep_alive || !res.keep_alive()) {
    beast::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.stream.socket().close(ignored);
    c.open = false;
    c.buffer.clear();
  }
  return out;
}

}  // namespace substrate::net
