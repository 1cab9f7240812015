#include "kafka/server/kafka_server.h"

#include <array>
#include <unordered_map>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "kafka/protocol/api_versions.h"
#include "kafka/protocol/codec.h"
#include "kafka/protocol/errc.h"
#include "kafka/protocol/error_codes.h"
#include "kafka/protocol/schema.h"
#include "kafka/server/logger.h"
#include "net/tcp_listener.h"

namespace substrate::kafka {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
std::string_view api_name(api_key key) {
  const auto* schema = find_schema(key);
  return schema ? schema->name : std::string_view("unknown");
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
                                                {"listener"})) {}

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
  impl(net::io_pool& pool, kafka_server_options o, request_handler& h, kafka_metrics& m)
      : options(std::move(o)), handler(h), metrics(m) {
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

  asio::awaitable<void> serve(tcp::socket& socket, const std::string& remote, net::connection& conn,
                              net::listener_shard& shard);
  // The response frame for one request frame; nothing to send; or an error to close.
  asio::awaitable<result<std::optional<bytes>>> process(std::span<const std::uint8_t> frame,
                                                        connection_context& context);
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

  kafka_server_options options;
  request_handler& handler;
  kafka_metrics& metrics;
  std::shared_ptr<net::tcp_listener> listener;
  // api key -> counter; filled once in the constructor, then read-only (shared by the shards).
  std::unordered_map<std::int16_t, core::counter*> request_counters;
};

asio::awaitable<result<std::optional<bytes>>> kafka_server::impl::process(std::span<const std::uint8_t> frame,
                                                                          connection_context& context) {
  auto parsed = parse_request(frame);
  if (!parsed) {
    protocol_error("bad_header", context, parsed.error().message());
    co_return tl::unexpected(parsed.error());
  }
  const auto& header = parsed->header;
  context.client_id = header.client_id;
  count_request(header.key);
  if (header.key == api_key::api_versions) {
    // Answered whatever the version (spec 1.5), and without decoding a body of a version we may
    // not know; client software name and version are accepted as they come.
    auto [body, body_version] = api_versions_response(header.api_version);
    auto frame_bytes = encode_response(api_key::api_versions, body_version, header.correlation_id, body);
    if (!frame_bytes) co_return tl::unexpected(frame_bytes.error());
    co_return std::optional<bytes>(std::move(*frame_bytes));
  }
  if (!supported(header.key, header.api_version)) {
    protocol_error("unsupported_version", context,
                   fmt::format("{} v{} is not supported", api_name(header.key), header.api_version));
    co_return make_error(errc::unsupported_version, std::string(api_name(header.key)));
  }
  auto request = decode(header.key, message_kind::request, header.api_version, parsed->body);
  if (!request) {
    protocol_error("bad_body", context,
                   fmt::format("{} v{}: {}", api_name(header.key), header.api_version, request.error().message()));
    co_return tl::unexpected(request.error());
  }
  auto response = co_await handler.handle(header, *request, context);
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

asio::awaitable<void> kafka_server::impl::serve(tcp::socket& socket, const std::string& remote, net::connection& conn,
                                                net::listener_shard& shard) {
  connection_context context{remote, std::nullopt};
  std::vector<std::uint8_t> buffer;
  std::size_t start = 0;  // first unprocessed byte
  boost::system::error_code ec;
  constexpr std::size_t read_chunk = 64 * 1024;
  for (;;) {
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
      if (buffer.empty()) {
        conn.enter(net::connection::phase::idle, options.idle_timeout_ms);
      } else if (conn.state != net::connection::phase::reading) {
        conn.enter(net::connection::phase::reading, options.read_timeout_ms);
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
    conn.enter_untimed(net::connection::phase::handling);
    const auto consumed = (*next)->consumed_bytes;
    auto response = co_await process((*next)->body, context);
    start += consumed;
    if (!response) break;
    if (*response) {
      conn.enter(net::connection::phase::writing, options.write_timeout_ms);
      co_await asio::async_write(socket, asio::buffer(**response), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    conn.enter_untimed(net::connection::phase::handling);
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
