// The only translation unit of the HTTP server that includes Boost.Beast. Wire-level details
// (limits, status mapping, drain) are described in http_server.h.

#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory_resource>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/container/small_vector.hpp>

#include "core/assert.h"
#include "core/decimal.h"
#include "core/swar.h"
#include "net/io_pool.h"
#include "net/logger.h"
#include "net/request_head.h"
#include "net/tcp_listener.h"

namespace substrate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A request as Beast parses it, its header fields allocated from the connection's arena
// (http_server::impl::serve) instead of one heap allocation per field.
using fields_allocator = std::pmr::polymorphic_allocator<char>;
using beast_request = http::request<http::string_body, http::basic_fields<fields_allocator>>;
using request_parser = http::request_parser<http::string_body, fields_allocator>;

http_metrics::http_metrics(core::metrics_registry& registry)
    : requests(registry.add_counter("http_requests_total", "HTTP requests answered, by listener, method and status.",
                                    {"listener", "method", "code"})),
      request_duration(registry.add_histogram("http_request_duration_seconds",
                                              "Time from a complete request to its response being written.",
                                              core::latency_buckets_seconds(), {"listener"})),
      connections_open(registry.add_gauge("http_connections_open", "Open connections, by listener.", {"listener"})),
      connections_rejected(registry.add_counter("http_connections_rejected_total",
                                                "Connections refused with 503 because the listener was full.",
                                                {"listener"})),
      request_errors(registry.add_counter("http_request_errors_total",
                                          "Requests that failed before or inside their handler, by reason.",
                                          {"listener", "reason"})) {}

namespace {

// Methods outside this set share one label value, so a client cannot grow the label space.
constexpr std::array<std::string_view, 8> method_labels = {"GET",   "HEAD",   "POST",    "PUT",
                                                           "PATCH", "DELETE", "OPTIONS", "OTHER"};
std::string_view method_label(std::string_view method) {
  for (std::string_view known : method_labels) {
    if (method == known) return known;
  }
  return "OTHER";
}
std::uint32_t method_index(std::string_view label) {
  for (std::uint32_t i = 0; i < method_labels.size(); ++i) {
    if (method_labels[i] == label) return i;
  }
  return method_labels.size() - 1;
}

bool is_disconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor ||
         ec == asio::error::not_connected || ec == beast::error::timeout;
}

}  // namespace

class websocket_session;

struct http_server::impl {
  impl(io_pool& p, http_server_options o, std::shared_ptr<const router> r, http_metrics& m)
      : options(std::move(o)),
        routes(std::move(r)),
        metrics(m),
        duration(m.request_duration.labels({options.name})),
        request_counters(p.shard_count()) {
    const auto& limits = options.limits;
    static const std::string body =
        R"({"error":"too_many_connections","message":"the server has too many open connections; retry later"})";
    listener_options listen{options.name,
                            "http",
                            options.address,
                            options.port,
                            limits.idle_timeout_ms,
                            limits.read_timeout_ms,
                            limits.write_timeout_ms,
                            limits.connections_max,
                            limits.shutdown_grace_ms,
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                            "Connection: close\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body};
    // The listener's connections end before stop() returns, and this impl outlives stop().
    listener =
        tcp_listener::create(p, std::move(listen),
                             {m.connections_open.labels({options.name}), m.connections_rejected.labels({options.name})},
                             [this](tcp::socket& socket, const std::string& remote, connection& conn,
                                    listener_shard& shard) { return serve(socket, remote, conn, shard); });
  }

  http_server_options options;
  std::shared_ptr<const router> routes;
  http_metrics& metrics;
  core::histogram& duration;
  // Per shard: (method index << 16 | status) -> counter, so counting a request allocates nothing.
  std::vector<std::unordered_map<std::uint32_t, core::counter*>> request_counters;
  std::shared_ptr<tcp_listener> listener;

  asio::awaitable<void> serve(tcp::socket& socket, const std::string& remote_address, connection& conn,
                              listener_shard& shard);
  asio::awaitable<void> run_websocket(beast::tcp_stream stream, beast_request request,
                                      std::unique_ptr<websocket_handler> handler, listener_shard& shard,
                                      connection& conn);

  void count_request(listener_shard& shard, std::string_view method, int status) {
    const auto label = method_label(method);
    const std::uint32_t key = (method_index(label) << 16) | static_cast<std::uint32_t>(status & 0xffff);
    auto& slot = request_counters[shard.index][key];
    if (!slot) slot = &metrics.requests.labels({options.name, std::string(label), std::to_string(status)});
    slot->increment();
  }
  void count_error(std::string_view reason) {
    metrics.request_errors.labels({options.name, std::string(reason)}).increment();
  }

  bool origin_allowed(std::string_view origin) const {
    for (const auto& allowed : options.limits.cors_origins) {
      if (allowed == "*" || allowed == origin) return true;
    }
    return false;
  }
};

namespace {

// A loop, not find_first_of (libstdc++'s calls memchr on the set for every character of the
// text); words of eight bytes without a control character are passed whole (core/swar.h).
bool header_safe(std::string_view text) {
  std::size_t i = 0;
  while (i + 8 <= text.size() && core::swar::any_below(core::swar::load(text.data() + i), 0x20) == 0) i += 8;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}
bool valid_header_name(std::string_view name) {
  if (name.empty() || !header_safe(name)) return false;
  for (const char c : name) {
    if (c == ' ' || c == ':') return false;
  }
  return true;
}

// The response as bytes on the wire. Written directly rather than through Beast's serializer:
// one contiguous buffer, one send, and the framing headers are ours alone (a handler cannot set
// Content-Length or Connection, nor smuggle a CR/LF into a header).
// Into `out`, replacing what it held (a connection reuses one buffer).
void serialize(std::string& out, const http_response& response, unsigned version, bool keep_alive, bool head_request) {
  using namespace std::string_view_literals;  // appends of known length: no strlen per piece
  const int status = response.status;
  const bool body_allowed = status >= 200 && status != 204 && status != 304;
  out.clear();
  out.reserve(128 + response.body.size() + response.headers.size() * 48);
  out += version == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv;
  core::append_decimal(out, status);
  out += ' ';
  out += status_reason(status);
  out += "\r\n"sv;
  for (const auto& [name, value] : response.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection") || iequals(name, "Transfer-Encoding")) continue;
    if (!valid_header_name(name) || !header_safe(value)) {
      http_log.warn("dropping a response header with forbidden characters: {}", name);
      continue;
    }
    out += name;
    out += ": "sv;
    out += value;
    out += "\r\n"sv;
  }
  if (body_allowed) {
    out += "Content-Length: "sv;
    core::append_decimal(out, response.body.size());
    out += "\r\n"sv;
  }
  if (!keep_alive) {
    out += "Connection: close\r\n"sv;
  } else if (version == 10) {
    out += "Connection: keep-alive\r\n"sv;
  }
  out += "\r\n"sv;
  if (body_allowed && !head_request) out += response.body;
}

// Fills `out` from a parsed request, reusing the strings `out` already holds (a connection keeps
// one http_request for all its requests). `fields` are (name, value) pairs. Not the body (the
// caller's, from the buffer or from Beast) and no path parameters yet (the router's come after).
template <class Fields>
void fill_request(http_request& out, std::string_view method, std::string_view target, unsigned version,
                  const Fields& fields, std::string_view remote) {
  assign_text(out.method, method);
  out.set_target(target);
  out.version = version;
  out.headers.resize(std::size(fields));
  std::size_t i = 0;
  for (const auto& [name, value] : fields) {
    assign_text(out.headers[i].first, name);
    assign_text(out.headers[i].second, value);
    ++i;
  }
  out.path_params.clear();
  assign_text(out.remote_address, remote);
}

}  // namespace

// One accepted WebSocket connection. Owned by its read loop (the coroutine in run_websocket)
// and by pending writes; lives on its shard.
class websocket_session : public websocket_peer, public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(websocket::stream<beast::tcp_stream> ws, std::size_t queue_bytes_max)
      : ws_(std::move(ws)), executor_(ws_.get_executor()), queue_bytes_max_(queue_bytes_max) {}

  void send_text(std::string message) override {
    asio::post(executor_, [self = shared_from_this(), message = std::move(message)]() mutable {
      if (self->closed_) return;
      if (self->queued_bytes_ + message.size() > self->queue_bytes_max_) {
        http_log.warn("websocket client does not read fast enough; closing it");
        self->start_close(websocket::close_code::policy_error, "send queue full");
        return;
      }
      self->queued_bytes_ += message.size();
      self->queue_.push_back(std::move(message));
      if (!self->writing_) {
        self->writing_ = true;
        asio::co_spawn(self->executor_, self->write_loop(), asio::detached);
      }
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    asio::post(executor_, [self = shared_from_this(), code, reason = std::move(reason)] {
      self->start_close(static_cast<websocket::close_code>(code), reason);
    });
  }

  websocket::stream<beast::tcp_stream>& stream() { return ws_; }
  void mark_closed() { closed_ = true; }

private:
  void start_close(websocket::close_code code, std::string reason) {
    if (closed_ || closing_) return;
    closing_ = true;
    asio::co_spawn(
        executor_,
        [self = shared_from_this(), code, reason = std::move(reason)]() -> asio::awaitable<void> {
          boost::system::error_code ec;
          co_await self->ws_.async_close(websocket::close_reason(code, reason),
                                         asio::redirect_error(asio::use_awaitable, ec));
          if (ec) beast::get_lowest_layer(self->ws_).socket().close(ec);
        },
        asio::detached);
  }

  asio::awaitable<void> write_loop() {
    auto self = shared_from_this();
    while (!queue_.empty() && !closed_) {
      std::string message = std::move(queue_.front());
      queue_.pop_front();
      boost::system::error_code ec;
      ws_.text(true);
      co_await ws_.async_write(asio::buffer(message), asio::redirect_error(asio::use_awaitable, ec));
      queued_bytes_ -= message.size();
      if (ec) {
        closed_ = true;
        break;
      }
    }
    writing_ = false;
  }

  websocket::stream<beast::tcp_stream> ws_;
  asio::any_io_executor executor_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t queue_bytes_max_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

asio::awaitable<void> http_server::impl::run_websocket(beast::tcp_stream stream, beast_request request,
                                                       std::unique_ptr<websocket_handler> handler,
                                                       listener_shard& shard, connection& conn) {
  beast::get_lowest_layer(stream).expires_never();
  websocket::stream<beast::tcp_stream> ws(std::move(stream));
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.read_message_max(static_cast<std::size_t>(options.limits.body_bytes_max));
  auto session =
      std::make_shared<websocket_session>(std::move(ws), static_cast<std::size_t>(options.limits.body_bytes_max) * 16);
  conn.socket = &beast::get_lowest_layer(session->stream()).socket();
  boost::system::error_code ec;
  co_await session->stream().async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  conn.enter_untimed(connection::phase::upgraded);
  conn.drain_upgraded = [weak = std::weak_ptr<websocket_session>(session)] {
    if (auto s = weak.lock())
      s->close(static_cast<std::uint16_t>(websocket::close_code::going_away), "server shutting down");
  };
  if (shard.draining) conn.drain_upgraded();
  handler->on_open(session);
  beast::flat_buffer buffer;
  for (;;) {
    co_await session->stream().async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const auto data = buffer.cdata();
    if (!session->stream().got_text()) {
      if (!handler->on_binary(std::string_view(static_cast<const char*>(data.data()), data.size()))) {
        session->close(static_cast<std::uint16_t>(websocket::close_code::bad_payload),
                       "only text frames are supported");
      }
      buffer.consume(buffer.size());
      continue;
    }
    handler->on_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buffer.consume(buffer.size());
  }
  session->mark_closed();
  conn.drain_upgraded = nullptr;
  handler->on_close();
}

// After an error answer to a request that was not read to its end (a body or headers over the
// limit, a malformed request), closing at once makes the kernel reset the connection over the
// bytes the client is still sending, and the client may see ECONNRESET instead of the answer.
// So, as nginx's lingering close: stop sending (the answer is flushed with a FIN), then read and
// discard what still arrives, until the client closes, for at most linger_ms and
// linger_bytes_max, then close.
namespace {
asio::awaitable<void> linger_close(tcp::socket& socket, connection& conn) {
  constexpr std::int64_t linger_ms = 2'000;
  constexpr std::size_t linger_bytes_max = 8 << 20;
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  conn.enter(connection::phase::reading, linger_ms);
  std::array<char, 16 * 1024> discard{};
  std::size_t total = 0;
  while (!ec && total < linger_bytes_max) {
    total += co_await socket.async_read_some(asio::buffer(discard), asio::redirect_error(asio::use_awaitable, ec));
  }
  conn.enter_untimed(connection::phase::handling);
}
}  // namespace

asio::awaitable<void> http_server::impl::serve(tcp::socket& socket, const std::string& remote_address, connection& conn,
                                               listener_shard& shard) {
  boost::system::error_code ec;
  const auto& limits = options.limits;
  auto write = [&](const std::string& wire) -> asio::awaitable<void> {
    conn.enter(connection::phase::writing, limits.write_timeout_ms);
    co_await asio::async_write(socket, asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
    conn.enter_untimed(connection::phase::handling);
  };

  try {
    beast::flat_buffer buffer;
    // Kept across the connection's requests, so that a request in the steady state allocates
    // little: the request's strings and the response buffer keep their capacity, and Beast's
    // header fields come from an arena that is reset before each request.
    http_request request;
    request_head head;
    std::string wire;
    std::array<std::byte, 2048> fields_storage;
    std::pmr::monotonic_buffer_resource fields_arena(fields_storage.data(), fields_storage.size());
    while (!shard.draining || buffer.size() > 0) {
      if (buffer.size() == 0) {
        // Waiting for the first byte of the next request: the idle timeout applies, and a
        // draining server closes the connection here.
        conn.enter(connection::phase::idle, limits.idle_timeout_ms);
        const std::size_t n =
            co_await socket.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        buffer.commit(n);
      }
      conn.enter(connection::phase::reading, limits.read_timeout_ms);
      fields_arena.release();  // the previous request's parser is gone
      request.body.clear();
      bool keep_alive_requested = false;
      bool upgrade = false;
      // The common request, whole in the buffer, is read by parse_request_head (request_head.h);
      // everything else by Beast, which is then the only parser that ran.
      std::optional<request_parser> parser;
      const std::string_view buffered(static_cast<const char*>(buffer.data().data()), buffer.size());
      if (parse_request_head(buffered, static_cast<std::size_t>(limits.header_bytes_max),
                             static_cast<std::uint64_t>(limits.body_bytes_max), head)) {
        fill_request(request, head.method, head.target, head.version, std::span(head.fields.data(), head.field_count),
                     remote_address);
        assign_text(request.body, head.body(buffered));
        keep_alive_requested = head.keep_alive;
        buffer.consume(head.head_bytes + head.content_length);
        conn.enter_untimed(connection::phase::handling);
      } else {
        parser.emplace(std::piecewise_construct, std::make_tuple(std::move(request.body)),
                       std::make_tuple(fields_allocator(&fields_arena)));
        parser->header_limit(static_cast<std::uint32_t>(limits.header_bytes_max));
        parser->body_limit(static_cast<std::uint64_t>(limits.body_bytes_max));
        // Most requests arrive whole in one read: parse what is buffered directly, and go through
        // the asynchronous reads (a composed operation and a post each) only for what is missing.
        parser->eager(true);
        while (!ec && !parser->is_done() && buffer.size() > 0) {
          const std::size_t used = parser->put(buffer.data(), ec);
          buffer.consume(used);
          if (used == 0) break;
        }
        if (ec == http::error::need_more) ec = {};
        if (!ec && !parser->is_header_done()) {
          co_await http::async_read_header(socket, buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
        }
        if (!ec && parser->get()[http::field::expect] == "100-continue" && !parser->is_done()) {
          static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
          co_await asio::async_write(socket, asio::buffer(go_on), asio::redirect_error(asio::use_awaitable, ec));
        }
        if (!ec && !parser->is_done()) {
          co_await http::async_read(socket, buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
        }
        if (conn.timed_out) ec = beast::error::timeout;
        conn.enter_untimed(connection::phase::handling);
        if (ec) {
          // The request could not be read: answer with the reason when the peer is still there.
          http_response failure;
          if (ec == http::error::header_limit) {
            failure = http_response::error(
                431, "headers_too_large",
                "request line and headers exceed " + std::to_string(limits.header_bytes_max) + " bytes");
            count_error("headers_too_large");
          } else if (ec == http::error::body_limit) {
            failure = http_response::error(413, "body_too_large",
                                           "request body exceeds " + std::to_string(limits.body_bytes_max) + " bytes");
            count_error("body_too_large");
          } else if (ec == beast::error::timeout) {
            failure = http_response::error(408, "request_timeout", "the request did not arrive in time");
            count_error("request_timeout");
          } else if (is_disconnect(ec) || ec == http::error::partial_message) {
            count_error("client_disconnected");
            break;
          } else {
            failure = http_response::error(400, "bad_request", "malformed HTTP request: " + ec.message());
            count_error("malformed_request");
          }
          count_request(shard, parser->is_header_done() ? std::string_view(parser->get().method_string()) : "OTHER",
                        failure.status);
          serialize(wire, failure, 11, false, false);
          co_await write(wire);
          co_await linger_close(socket, conn);
          break;
        }

        auto& parsed = parser->get();
        keep_alive_requested = parsed.keep_alive();
        upgrade = websocket::is_upgrade(parsed);
        boost::container::small_vector<std::pair<std::string_view, std::string_view>, 16> fields;
        for (const auto& field : parsed) fields.emplace_back(field.name_string(), field.value());
        fill_request(request, parsed.method_string(), parsed.target(), parsed.version(), fields, remote_address);
        request.body = std::move(parsed.body());
      }
      // From the request itself, before a handler may move its body away.
      const unsigned version = request.version;
      const bool head_request = request.method == "HEAD";
      const std::size_t bytes_in = request.body.size();

      const auto started = std::chrono::steady_clock::now();
      auto match = routes->find(request.method, request.path);
      if (match.websocket && upgrade) {
        request.path_params = match.params;
        websocket_accept accepted;
        if (auto refused = routes->guard() ? routes->guard()(request) : std::nullopt) {
          accepted = std::move(*refused);
        } else {
          accepted = (*match.websocket)(request);
        }
        if (auto* handler = std::get_if<std::unique_ptr<websocket_handler>>(&accepted)) {
          count_request(shard, "GET", 101);
          // An upgrade always came through Beast: the fast path declines an Upgrade field.
          co_await run_websocket(beast::tcp_stream(std::move(socket)), parser->release(), std::move(*handler), shard,
                                 conn);
          break;
        }
        auto refusal = std::get<http_response>(std::move(accepted));
        count_request(shard, "GET", refusal.status);
        serialize(wire, refusal, version, false, false);
        co_await write(wire);
        break;
      }
      request.path_params = std::move(match.params);

      http_response response;
      const auto origin = request.header("Origin");
      const bool cors = origin && origin_allowed(*origin);
      if (request.method == "OPTIONS" && origin && request.header("Access-Control-Request-Method")) {
        // CORS preflight, answered for every route of the listener.
        if (cors) {
          response.status = 204;
          response.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
          if (auto requested = request.header("Access-Control-Request-Headers")) {
            response.set_header("Access-Control-Allow-Headers", std::string(*requested));
          }
          response.set_header("Access-Control-Max-Age", "86400");
        } else {
          response = http_response::error(403, "cors_origin_denied", "origin is not allowed by http.cors_origins");
        }
      } else if (match.websocket) {
        response = http_response::error(426, "upgrade_required", "this endpoint speaks WebSocket only");
        response.set_header("Upgrade", "websocket");
      } else if (match.bad_encoding) {
        response = http_response::error(400, "bad_request", "malformed percent-encoding in the request path");
      } else if (!match.handler) {
        if (match.allowed_methods.empty()) {
          response = http_response::error(404, "not_found", "no route for " + request.path);
        } else {
          std::string allow;
          for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
          response = http_response::error(405, "method_not_allowed",
                                          request.method + " is not allowed here; allowed: " + allow);
          response.set_header("Allow", allow);
        }
      } else {
        bool failed = false;
        try {
          if (auto refused = routes->guard() ? routes->guard()(request) : std::nullopt) {
            response = std::move(*refused);
          } else {
            response = co_await (*match.handler)(request);
          }
        } catch (const std::exception& e) {
          http_log.error("handler failed on listener {} for {} {}: {}", options.name, request.method, request.path,
                         e.what());
          failed = true;
        }
        if (failed) {
          count_error("handler_exception");
          response = http_response::error(500, "internal_error", "the server failed to handle this request");
        }
      }
      if (cors) {
        const bool any =
            std::find(limits.cors_origins.begin(), limits.cors_origins.end(), "*") != limits.cors_origins.end();
        response.set_header("Access-Control-Allow-Origin", any ? "*" : std::string(*origin));
        if (!any) response.set_header("Vary", "Origin");
        response.set_header("Access-Control-Expose-Headers",
                            "Content-Range, Content-Location, X-Total-Count, ETag, Link, X-Supabase-Api-Version");
      }

      const bool keep_alive = keep_alive_requested && !shard.draining;
      serialize(wire, response, version, keep_alive, head_request);
      co_await write(wire);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      duration.observe(seconds);
      count_request(shard, request.method, response.status);
      if (match.observer) (*match.observer)(response.status, seconds);
      if (limits.access_log && http_log.enabled(core::log_level::info)) {
        http_log.write(core::log_level::info, "request",
                       {{"listener", options.name},
                        {"method", request.method},
                        {"path", request.path},
                        {"status", response.status},
                        {"duration_ms", seconds * 1000.0},
                        {"bytes_in", bytes_in},
                        {"bytes_out", response.body.size()},
                        {"remote", remote_address}});
      }
      if (ec || !keep_alive) break;
    }
  } catch (const std::exception& e) {
    count_error("connection_exception");
    http_log.error("connection on listener {} failed: {}; closing it", options.name, e.what());
  }
}

http_server::http_server(io_pool& pool, http_server_options options, std::shared_ptr<const router> routes,
                         http_metrics& metrics)
    : impl_(std::make_shared<impl>(pool, std::move(options), std::move(routes), metrics)) {}

http_server::~http_server() {
  stop();
}

void http_server::start() {
  impl_->listener->start();
}

void http_server::stop() {
  impl_->listener->stop();
}

std::uint16_t http_server::port() const {
  return impl_->listener->port();
}

const std::string& http_server::name() const {
  return impl_->options.name;
}

}  // namespace substrate::net
