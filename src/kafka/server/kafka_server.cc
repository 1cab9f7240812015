#include "kafka/server/kafka_server.h"

// g++ 12 with -fsanitize=address (the Asan build, -O1) reports the allocation of serve()'s
// coroutine frame by Asio's awaitable_frame_base (aligned_alloc, then its sized operator
// delete) as a mismatched new/delete. Asio pairs them itself; the warning is a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <array>
#include <deque>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "kafka/protocol/api_versions.h"
#include "kafka/protocol/codec.h"
#include "kafka/protocol/errc.h"
#include "kafka/protocol/error_codes.h"
#include "kafka/protocol/schema.h"
#include "kafka/security/user_store.h"
#include "kafka/server/logger.h"
#include "net/io_pool.h"
#include "net/tcp_listener.h"

namespace substrate::kafka {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
std::string_view api_name(api_key key) {
  const auto* schema = find_schema(key);
  return schema ? schema->name : std::string_view("unknown");
}

// A connection's place in the SASL exchange (spec 5.6); lives in serve()'s frame.
struct sasl_state {
  std::unique_ptr<security::sasl_session> session;  // between handshake and the last step
  bool raw_tokens = false;                          // after a v0 handshake: tokens are raw frames, not requests
  bool close_after_write = false;                   // the response just built ends the connection
};

bytes raw_frame(std::string_view payload) {
  bytes out(4 + payload.size());
  const auto n = static_cast<std::uint32_t>(payload.size());
  out[0] = static_cast<std::uint8_t>(n >> 24);
  out[1] = static_cast<std::uint8_t>(n >> 16);
  out[2] = static_cast<std::uint8_t>(n >> 8);
  out[3] = static_cast<std::uint8_t>(n);
  std::copy(payload.begin(), payload.end(), out.begin() + 4);
  return out;
}
}  // namespace

kafka_metrics::kafka_metrics(core::metrics_registry& registry)
    : requests(registry.add_counter("kafka_requests_total", "Kafka requests handled, by API.", {"api"})),
      protocol_errors(registry.add_counter("kafka_protocol_errors_total",
                                           "Connections closed for a protocol violation, by reason.", {"reason"})),
      connections_open(
          registry.add_gauge("kafka_connections_open", "Open Kafka connections, by listener.", {"listener"})),
      connections_rejected(registry.add_counter("kafka_connections_rejected_total",
                                                "Kafka connections refused because the listener was full.",
                                                {"listener"})),
      sasl_authentications(registry.add_counter("kafka_sasl_authentications_total",
                                                "SASL authentications on the Kafka listener, by mechanism and result.",
                                                {"mechanism", "result"})) {}

std::pair<message, std::int16_t> api_versions_response(std::int16_t version) {
  const bool served = supported(api_key::api_versions, version);
  message body = make_message(api_key::api_versions, message_kind::response);
  body.i16("error_code") = static_cast<std::int16_t>(served ? error_code::none : error_code::unsupported_version);
  for (const auto& range : supported_api_versions()) {
    auto& entry = body.append("api_keys");
    entry.i16("api_key") = static_cast<std::int16_t>(range.key);
    entry.i16("min_version") = range.min_version;
    entry.i16("max_version") = range.max_version;
  }
  return {std::move(body), served ? version : std::int16_t{0}};
}

struct kafka_server::impl {
  impl(net::io_pool& p, kafka_server_options o, request_handler& h, kafka_metrics& m)
      : pool(p), options(std::move(o)), handler(h), metrics(m) {
    if (options.sasl.enabled && (!options.sasl.users || options.sasl.mechanisms.empty())) {
      throw std::invalid_argument("kafka_server: SASL needs a user store and at least one mechanism");
    }
    net::listener_options listen;
    listen.name = options.name;
    listen.scheme = "kafka";
    listen.address = options.address;
    listen.port = options.port;
    listen.idle_timeout_ms = options.idle_timeout_ms;
    listen.read_timeout_ms = options.read_timeout_ms;
    listen.write_timeout_ms = options.write_timeout_ms;
    listen.connections_max = options.connections_max;
    listen.shutdown_grace_ms = options.shutdown_grace_ms;
    // The listener's connections end before stop() returns, and this impl outlives stop().
    listener = net::tcp_listener::create(
        pool, std::move(listen),
        {m.connections_open.labels({options.name}), m.connections_rejected.labels({options.name})},
        [this](tcp::socket& socket, const std::string& remote, net::connection& conn, net::listener_shard& shard) {
          return serve(socket, remote, conn, shard);
        });
  }

  // One request of a connection between its start and its response being written. Shard-local.
  struct in_flight {
    explicit in_flight(const asio::any_io_executor& executor) : signal(executor) {
      signal.expires_at(asio::steady_timer::time_point::max());
    }
    // Wakes everything waiting on this request (the reader for `released`, the writer for
    // `finished`); each waiter re-checks its condition.
    void release() {
      if (released) return;
      released = true;
      signal.cancel();
    }
    void finish(result<std::optional<bytes>> r) {
      response = std::move(r);
      finished = true;
      released = true;
      signal.cancel();
    }
    asio::steady_timer signal;
    bool released = false;
    bool finished = false;
    result<std::optional<bytes>> response = std::optional<bytes>();
  };

  // The state the reader (serve), the writer and the running handlers of one connection share.
  // It lives in serve()'s frame, which returns only after the writer and every handler ended.
  struct pipeline {
    explicit pipeline(const asio::any_io_executor& executor)
        : writer_signal(executor), space_signal(executor), done_signal(executor) {
      for (auto* t : {&writer_signal, &space_signal, &done_signal})
        t->expires_at(asio::steady_timer::time_point::max());
    }
    std::deque<std::shared_ptr<in_flight>> queue;  // started, response not yet written; in order
    asio::steady_timer writer_signal;              // a request was queued, or reading ended
    asio::steady_timer space_signal;               // a response was written (the queue shrank)
    asio::steady_timer done_signal;                // the writer or a handler ended
    std::size_t handlers_running = 0;
    bool reading_done = false;
    bool writer_done = false;
    bool failed = false;  // a request or a write failed: the connection closes
    // The reader's buffer state, so the writer can pick the right timeout when it goes quiet.
    bool partial_frame = false;
  };

  asio::awaitable<void> serve(tcp::socket& socket, const std::string& remote, net::connection& conn,
                              net::listener_shard& shard);
  // What a request frame needs, decided without suspending: a response right away (ApiVersions),
  // a decoded request for the handler, or an error that closes the connection.
  struct prepared {
    std::optional<bytes> ready;
    request_header header;
    std::optional<message> request;
    bool sasl_request = false;             // SaslHandshake/SaslAuthenticate, answered here
    std::optional<std::string> raw_token;  // a bare SASL token after a v0 handshake
  };
  result<prepared> prepare(std::span<const std::uint8_t> frame, connection_context& context, const sasl_state& sasl);
  // Runs one prepared request (the handler, or the SASL exchange) and finishes its slot.
  asio::awaitable<void> run_request(pipeline& p, std::shared_ptr<in_flight> request_state, prepared request,
                                    connection_context& context, sasl_state& sasl);
  // The encoded response of a decoded request: the handler's, or the SASL exchange's.
  asio::awaitable<result<std::optional<bytes>>> respond(prepared& request, connection_context& context,
                                                        sasl_state& sasl);
  asio::awaitable<void> write_responses(pipeline& p, tcp::socket& socket, net::connection& conn);
  // SaslHandshake / SaslAuthenticate on a SASL listener: the response body.
  asio::awaitable<message> sasl_request(const request_header& header, message& request, connection_context& context,
                                        sasl_state& sasl);
  // One step of the session on the blocking pool (PBKDF2 for PLAIN, the users file for both).
  asio::awaitable<security::sasl_step> sasl_step(sasl_state& sasl, std::string token, connection_context& context);
  void count_request(api_key key) {
    // Pre-filled at construction for every described key, so shards only read the map.
    if (auto it = request_counters.find(static_cast<std::int16_t>(key)); it != request_counters.end()) {
      it->second->increment();
    }
  }
  void protocol_error(std::string_view reason, const connection_context& context, const std::string& detail) {
    metrics.protocol_errors.labels({std::string(reason)}).increment();
    kafka_log.warn("closing Kafka connection from {} (client {}): {}", context.remote_address,
                   context.client_id.value_or("-"), detail);
  }

  net::io_pool& pool;
  kafka_server_options options;
  request_handler& handler;
  kafka_metrics& metrics;
  std::shared_ptr<net::tcp_listener> listener;
  // api key -> counter; filled once in the constructor, then read-only (shared by the shards).
  std::unordered_map<std::int16_t, core::counter*> request_counters;
};

asio::awaitable<security::sasl_step> kafka_server::impl::sasl_step(sasl_state& sasl, std::string token,
                                                                   connection_context& context) {
  auto* session = sasl.session.get();
  auto work = [session, token = std::move(token)] { return session->step(token); };
  auto step = co_await net::run_blocking(pool.blocking(), std::move(work));
  const std::string mechanism(security::mechanism_name(session->mechanism()));
  if (step.outcome == security::sasl_step::status::success) {
    context.principal = security::user_principal(step.user);
    sasl.session.reset();
    sasl.raw_tokens = false;
    metrics.sasl_authentications.labels({mechanism, "success"}).increment();
    kafka_log.debug("Kafka connection authenticated",
                    {{"remote", context.remote_address}, {"principal", *context.principal}, {"mechanism", mechanism}});
  } else if (step.outcome == security::sasl_step::status::failure) {
    sasl.session.reset();
    sasl.close_after_write = true;
    metrics.sasl_authentications.labels({mechanism, "failure"}).increment();
    kafka_log.info("Kafka SASL authentication failed; closing the connection",
                   {{"remote", context.remote_address},
                    {"client_id", context.client_id.value_or("-")},
                    {"mechanism", mechanism},
                    {"reason", step.error_message}});
  }
  co_return step;
}

asio::awaitable<message> kafka_server::impl::sasl_request(const request_header& header, message& request,
                                                          connection_context& context, sasl_state& sasl) {
  message response = make_message(header.key, message_kind::response);
  if (header.key == api_key::sasl_handshake) {
    for (const auto m : options.sasl.mechanisms)
      response.values("mechanisms").emplace_back(std::string(security::mechanism_name(m)));
    const auto wanted = security::parse_mechanism(request.str("mechanism"));
    const bool offered = wanted && std::find(options.sasl.mechanisms.begin(), options.sasl.mechanisms.end(), *wanted) !=
                                       options.sasl.mechanisms.end();
    if (context.principal || sasl.session) {
      response.i16("error_code") = static_cast<std::int16_t>(error_code::illegal_sasl_state);
      sasl.close_after_write = true;
    } else if (!offered) {
      response.i16("error_code") = static_cast<std::int16_t>(error_code::unsupported_sasl_mechanism);
      sasl.close_after_write = true;
    } else {
      auto users = options.sasl.users;
      sasl.session = std::make_unique<security::sasl_session>(
          *wanted, [users](const std::string& user) { return users->find(user); });
      sasl.raw_tokens = header.api_version == 0;
    }
    co_return response;
  }
  // SaslAuthenticate: only between a v1 handshake and the end of the exchange.
  response.i64("session_lifetime_ms") = 0;  // no re-authentication required
  if (!sasl.session || sasl.raw_tokens) {
    response.i16("error_code") = static_cast<std::int16_t>(error_code::illegal_sasl_state);
    response.nullable_str("error_message") = "SaslAuthenticate without a preceding SaslHandshake v1";
    sasl.close_after_write = true;
    co_return response;
  }
  const auto& token = request.blob("auth_bytes");
  auto step = co_await sasl_step(sasl, std::string(token.begin(), token.end()), context);
  if (step.outcome == security::sasl_step::status::failure) {
    response.i16("error_code") = static_cast<std::int16_t>(error_code::sasl_authentication_failed);
    response.nullable_str("error_message") = step.error_message;
  } else {
    response.blob("auth_bytes") = bytes(step.response.begin(), step.response.end());
  }
  co_return response;
}

result<kafka_server::impl::prepared> kafka_server::impl::prepare(std::span<const std::uint8_t> frame,
                                                                 connection_context& context, const sasl_state& sasl) {
  prepared out;
  if (sasl.raw_tokens) {
    // After a SaslHandshake v0 the client sends its tokens as bare frames and reads bare
    // frames back (run_request answers them).
    out.raw_token = std::string(frame.begin(), frame.end());
    return out;
  }
  auto parsed = parse_request(frame);
  if (!parsed) {
    protocol_error("bad_header", context, parsed.error().message());
    return tl::unexpected(parsed.error());
  }
  const auto& header = parsed->header;
  context.client_id = header.client_id;
  count_request(header.key);
  if (header.key == api_key::api_versions) {
    // Answered whatever the version (spec 1.5), and without decoding a body of a version we may
    // not know; client software name and version are accepted as they come.
    auto [body, body_version] = api_versions_response(header.api_version);
    auto frame_bytes = encode_response(api_key::api_versions, body_version, header.correlation_id, body);
    if (!frame_bytes) return tl::unexpected(frame_bytes.error());
    out.ready = std::move(*frame_bytes);
    return out;
  }
  const bool sasl_api = header.key == api_key::sasl_handshake || header.key == api_key::sasl_authenticate;
  if (options.sasl.enabled && !context.principal && !sasl_api) {
    protocol_error("unauthenticated", context,
                   fmt::format("{} before SASL authentication completed", api_name(header.key)));
    return make_error(std::make_error_code(std::errc::permission_denied), "not authenticated");
  }
  if (!supported(header.key, header.api_version)) {
    protocol_error("unsupported_version", context,
                   fmt::format("{} v{} is not supported", api_name(header.key), header.api_version));
    return make_error(errc::unsupported_version, std::string(api_name(header.key)));
  }
  auto request = decode(header.key, message_kind::request, header.api_version, parsed->body);
  if (!request) {
    protocol_error("bad_body", context,
                   fmt::format("{} v{}: {}", api_name(header.key), header.api_version, request.error().message()));
    return tl::unexpected(request.error());
  }
  out.header = header;
  out.request = std::move(*request);
  out.sasl_request = options.sasl.enabled && sasl_api;
  return out;
}

asio::awaitable<void> kafka_server::impl::run_request(pipeline& p, std::shared_ptr<in_flight> request_state,
                                                      prepared request, connection_context& context, sasl_state& sasl) {
  result<std::optional<bytes>> out = std::optional<bytes>();
  const auto& header = request.header;
  try {
    if (request.raw_token) {
      // A failure closes the connection without a reply (Kafka's behaviour).
      auto step = co_await sasl_step(sasl, std::move(*request.raw_token), context);
      if (step.outcome == security::sasl_step::status::failure) {
        out = make_error(std::make_error_code(std::errc::permission_denied), step.error_message);
      } else {
        out = std::optional<bytes>(raw_frame(step.response));
      }
    } else {
      out = co_await respond(request, context, sasl);
    }
  } catch (const std::exception& e) {
    kafka_log.error("the {} handler failed; closing the connection from {}: {}", api_name(header.key),
                    context.remote_address, e.what());
    out = make_error(errc::unsupported_version, "handler failure");
  }
  request_state->finish(std::move(out));
  --p.handlers_running;
  p.done_signal.cancel();
}

asio::awaitable<result<std::optional<bytes>>> kafka_server::impl::respond(prepared& request,
                                                                          connection_context& context,
                                                                          sasl_state& sasl) {
  const auto& header = request.header;
  result<std::optional<message>> response = std::optional<message>();
  if (request.sasl_request) {
    response = std::optional<message>(co_await sasl_request(header, *request.request, context, sasl));
  } else {
    response = co_await handler.handle(header, *request.request, context);
  }
  if (!response) co_return tl::unexpected(response.error());
  if (!*response) co_return std::optional<bytes>();
  auto frame_bytes = encode_response(header.key, header.api_version, header.correlation_id, **response);
  if (!frame_bytes) {
    kafka_log.error("cannot encode the {} v{} response: {}", api_name(header.key), header.api_version,
                    frame_bytes.error().message());
    co_return tl::unexpected(frame_bytes.error());
  }
  co_return std::optional<bytes>(std::move(*frame_bytes));
}

asio::awaitable<void> kafka_server::impl::write_responses(pipeline& p, tcp::socket& socket, net::connection& conn) {
  boost::system::error_code ec;
  while (!p.failed) {
    if (p.queue.empty()) {
      if (p.reading_done) break;
      co_await p.writer_signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto front = p.queue.front();
    if (!front->finished) {
      co_await front->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (!front->response) {
      p.failed = true;
      break;
    }
    if (*front->response) {
      conn.enter(net::connection::phase::writing, options.write_timeout_ms);
      co_await asio::async_write(socket, asio::buffer(**front->response),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        p.failed = true;
        break;
      }
    }
    p.queue.pop_front();
    p.space_signal.cancel();
    if (!p.queue.empty()) {
      conn.enter_untimed(net::connection::phase::handling);
    } else if (p.partial_frame) {
      conn.enter(net::connection::phase::reading, options.read_timeout_ms);
    } else {
      conn.enter(net::connection::phase::idle, options.idle_timeout_ms);
    }
  }
  if (p.failed) {
    // Stop the reader (it may wait for bytes) so that the connection closes.
    socket.cancel(ec);
    p.space_signal.cancel();
  }
  p.writer_done = true;
  p.done_signal.cancel();
}

asio::awaitable<void> kafka_server::impl::serve(tcp::socket& socket, const std::string& remote, net::connection& conn,
                                                net::listener_shard& shard) {
  const auto executor = co_await asio::this_coro::executor;
  connection_context context{remote, std::nullopt, {}, std::nullopt};
  sasl_state sasl;
  pipeline p(executor);
  asio::co_spawn(executor, write_responses(p, socket, conn), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      kafka_log.error("a Kafka response writer failed: {}", ex.what());
    }
  });
  std::vector<std::uint8_t> buffer;
  std::size_t start = 0;  // first unprocessed byte
  boost::system::error_code ec;
  constexpr std::size_t read_chunk = 64 * 1024;
  while (!p.failed) {
    auto next = next_frame(std::span(buffer).subspan(start), options.frame_bytes_max);
    if (!next) {
      protocol_error("bad_frame", context, next.error().message());
      break;
    }
    if (!*next) {
      if (shard.draining && start == buffer.size()) break;
      // Need more bytes. The buffer grows only as bytes arrive, so a client announcing a huge
      // frame costs us nothing until it sends it.
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(start));
      start = 0;
      p.partial_frame = !buffer.empty();
      // While requests are in flight the writer owns the connection's phase.
      if (p.queue.empty()) {
        if (buffer.empty()) {
          conn.enter(net::connection::phase::idle, options.idle_timeout_ms);
        } else if (conn.state != net::connection::phase::reading) {
          conn.enter(net::connection::phase::reading, options.read_timeout_ms);
        }
      }
      const std::size_t filled = buffer.size();
      buffer.resize(filled + read_chunk);
      const std::size_t n = co_await socket.async_read_some(asio::buffer(buffer.data() + filled, read_chunk),
                                                            asio::redirect_error(asio::use_awaitable, ec));
      buffer.resize(filled + (ec ? 0 : n));
      if (ec) {
        if (conn.timed_out && !buffer.empty())
          protocol_error("read_timeout", context, "a frame did not arrive in time");
        break;
      }
      continue;
    }
    while (p.queue.size() >= std::max<std::size_t>(options.in_flight_requests_max, 1) && !p.failed) {
      co_await p.space_signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (p.failed) break;
    if (p.queue.empty()) conn.enter_untimed(net::connection::phase::handling);
    const auto consumed = (*next)->consumed_bytes;
    auto ready = prepare((*next)->body, context, sasl);  // the decoded request owns its bytes
    start += consumed;
    auto request_state = std::make_shared<in_flight>(executor);
    p.queue.push_back(request_state);
    p.writer_signal.cancel();
    if (!ready) {
      request_state->finish(tl::unexpected(ready.error()));
      break;
    }
    if (ready->ready) {
      request_state->finish(std::optional<bytes>(std::move(*ready->ready)));
      continue;
    }
    // SASL steps never release ordering early: the next request starts after the step finished
    // (and, after a failure or an illegal step, the connection closes once it is answered).
    context.release_ordering = [request_state] { request_state->release(); };
    ++p.handlers_running;
    asio::co_spawn(executor, run_request(p, request_state, std::move(*ready), context, sasl), [](std::exception_ptr e) {
      if (e) kafka_log.error("a Kafka request task ended with an exception");
    });
    while (!request_state->released) {
      co_await request_state->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (sasl.close_after_write) break;
  }
  // Answer what was started (or stop at the first failure), then let every handler end: they
  // refer to this frame's context and pipeline.
  p.reading_done = true;
  p.writer_signal.cancel();
  while (!p.writer_done || p.handlers_running > 0) {
    co_await p.done_signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

kafka_server::kafka_server(net::io_pool& pool, kafka_server_options options, request_handler& handler,
                           kafka_metrics& metrics)
    : impl_(std::make_unique<impl>(pool, std::move(options), handler, metrics)) {
  for (const auto* schema : all_schemas()) {
    impl_->request_counters[static_cast<std::int16_t>(schema->key)] =
        &metrics.requests.labels({std::string(schema->name)});
  }
}

kafka_server::~kafka_server() {
  stop();
}

void kafka_server::start() {
  impl_->listener->start();
}

void kafka_server::stop() {
  impl_->listener->stop();
}

std::uint16_t kafka_server::port() const {
  return impl_->listener->port();
}

}  // namespace substrate::kafka
