#pragma once
// The Kafka protocol listener (port 9092): reads size-prefixed request frames, answers
// ApiVersions itself, and hands every other decoded request to a `request_handler` (the broker),
// writing responses back strictly in request order per connection, as Kafka does (spec 1.4).
// Requests of a connection are pipelined: the next one starts when the previous one released
// its ordering (connection_context::release_ordering) or finished, up to
// in_flight_requests_max, and a writer sends the responses in order as they complete.
//
// Protocol violations close the connection after a log line, as Kafka and Redpanda do (spec
// 1.5): a frame over `frame_bytes_max`, an unknown API key, a version outside the advertised
// range (ApiVersions excepted: it gets a v0 body with UNSUPPORTED_VERSION), a body that does not
// decode. Nothing of a bad request reaches the handler.
//
// SASL (spec 5.6), when `sasl.enabled`: the listener itself answers SaslHandshake (v0-1) and
// SaslAuthenticate (v0-2) with the `kafka/security` mechanisms, and closes a connection that
// sends anything but ApiVersions before authenticating; after a v0 handshake the tokens travel
// as raw size-prefixed frames (Kafka's pre-KIP-152 framing). A failed authentication gets its
// error (33, 34 or 58 with a message) and then the connection closes. The authenticated
// principal goes into the connection_context for the handler. When SASL is off, the SASL
// requests reach the handler like any other.
//
// Threading and lifecycle: as tcp_listener (connections on shards; start, stop before the
// io_pool). The handler is called on the connection's shard and must outlive the server.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/metrics.h"
#include "core/result.h"
#include "kafka/protocol/frame.h"
#include "kafka/protocol/message.h"
#include "kafka/security/sasl.h"

namespace substrate::net {
class io_pool;
class tcp_listener;
}  // namespace substrate::net

namespace substrate::kafka {

namespace security {
class user_store;
}

struct kafka_sasl_options {
  bool enabled = false;
  // Offered in this order in SaslHandshake responses.
  std::vector<security::sasl_mechanism> mechanisms = {security::sasl_mechanism::scram_sha_256,
                                                      security::sasl_mechanism::plain};
  std::shared_ptr<security::user_store> users;  // required when enabled
};

struct kafka_server_options {
  std::string name = "kafka";
  std::string address = "127.0.0.1";
  std::uint16_t port = 9092;  // 0 picks a free port
  std::int32_t frame_bytes_max = frame_bytes_max_default;
  std::int64_t idle_timeout_ms = 600'000;  // Kafka's connections.max.idle.ms
  std::int64_t read_timeout_ms = 30'000;   // a started frame must arrive within this
  std::int64_t write_timeout_ms = 30'000;
  std::int64_t connections_max = 10'000;
  std::int64_t shutdown_grace_ms = 10'000;
  // Requests of one connection started and not yet answered (see release_ordering); reading
  // pauses at this many. librdkafka keeps at most 5 in flight with idempotence.
  std::size_t in_flight_requests_max = 32;
  kafka_sasl_options sasl;
};

// Per-connection facts a handler may need.
struct connection_context {
  std::string remote_address;
  std::optional<std::string> client_id;  // of the latest request
  // Two-stage dispatch (as Redpanda's): a connection's requests start one at a time, in order,
  // and each holds the next one back until it calls this, or until it finishes. A handler calls
  // it once the part of its work that must happen in request order is done (a produce: its
  // appends), so the next request can start while this one waits (a produce: for the fsync).
  // Responses are still written in request order. Call it at most once, on the connection's
  // shard, during the handle() it was set for; the server sets it before each handle().
  std::function<void()> release_ordering;
  // "User:<name>" once SASL authentication succeeded; empty on a listener without SASL (the
  // broker then treats the connection as User:ANONYMOUS).
  std::optional<std::string> principal;
};

class request_handler {
public:
  virtual ~request_handler() = default;
  // Handles a decoded, supported request. Returns the response body to send, nothing when the
  // request gets no response (acks=0 produce), or an error to close the connection.
  virtual boost::asio::awaitable<result<std::optional<message>>> handle(const request_header& header, message& request,
                                                                        connection_context& context) = 0;
};

// The protocol's metric families, registered once per registry.
struct kafka_metrics {
  explicit kafka_metrics(core::metrics_registry& registry);
  core::metric_family<core::counter>& requests;         // by api
  core::metric_family<core::counter>& protocol_errors;  // by reason; each closed a connection
  core::metric_family<core::gauge>& connections_open;
  core::metric_family<core::counter>& connections_rejected;
  core::metric_family<core::counter>& sasl_authentications;  // by mechanism and result
};

class kafka_server {
public:
  kafka_server(net::io_pool& pool, kafka_server_options options, request_handler& handler, kafka_metrics& metrics);
  ~kafka_server();
  kafka_server(const kafka_server&) = delete;
  kafka_server& operator=(const kafka_server&) = delete;

  void start();  // throws std::system_error naming the address when it cannot bind
  void stop();
  [[nodiscard]] std::uint16_t port() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// The ApiVersions response for a request of `version`: the advertisement, or, for a version
// this broker does not serve, the v0 body with UNSUPPORTED_VERSION that clients step down from
// (spec 0.1). Returns the version the body must be encoded with.
[[nodiscard]] std::pair<message, std::int16_t> api_versions_response(std::int16_t version);

}  // namespace substrate::kafka
