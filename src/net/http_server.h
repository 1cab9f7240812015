#pragma once
// The HTTP/1.1 + WebSocket server every listener of the platform runs on (admin, gateway,
// Supabase-compatible API, schema registry, object store, web app).
//
// Behaviour: keep-alive and pipelining; routing through a shared `router`; JSON error bodies
// {"error","message"}; limits with their status codes (body 413, headers 431, a request that
// does not arrive in time 408, too many connections 503, malformed 400); CORS for configured
// origins (preflight answered here); WebSocket upgrade for `add_websocket` routes; one
// structured access-log line and metrics per request; graceful stop.
//
// Threading: the acceptor lives on shard 0 and hands each connection round-robin to a shard of
// the io_pool; the connection never leaves it. Handlers run on that shard and must not block
// (use run_blocking). Lifecycle: construct, start() (binds, throws std::system_error naming the
// address when it cannot), stop() (stop accepting, close idle connections, let in-flight
// requests finish within http.shutdown_grace_ms, then close the rest). Stop before the io_pool.

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/metrics.h"
#include "net/router.h"

namespace substrate::net {

class io_pool;

// The HTTP metric families, registered once per registry and shared by every listener (each
// listener is a label value).
struct http_metrics {
  explicit http_metrics(core::metrics_registry& registry);

  core::metric_family<core::counter>& requests;
  core::metric_family<core::histogram>& request_duration;
  core::metric_family<core::gauge>& connections_open;
  core::metric_family<core::counter>& connections_rejected;
  core::metric_family<core::counter>& request_errors;
};

struct http_server_options {
  std::string name;  // listener name in logs and metric labels, e.g. "admin"
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port; see port()
  core::http_config limits;
};

class http_server {
public:
  http_server(io_pool& pool, http_server_options options, std::shared_ptr<const router> routes, http_metrics& metrics);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const std::string& name() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

}  // namespace substrate::net
