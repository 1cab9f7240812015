#pragma once
// The Supabase-compatible API listener (supabase-compat.md; default port 54321): one router for
// /auth/v1, /rest/v1 and /realtime/v1. Services add their routes with their own library's
// `add_routes(net::router&, ...)` between construction and start().
//
// Every route is guarded by the API-key check of supabase-compat.md 1.5: the `apikey` header
// (or `apikey` query parameter, which Realtime's WebSocket URL uses) must be the project's anon
// or service_role key, or another HS256 token of the project secret with one of those roles.
// Browsers are served CORS per api.cors_origins (default any origin).
//
// Lifecycle: construct (no I/O), add routes, start() after pool.start() (binds; throws
// std::system_error naming the address), stop() before pool.stop(). Main thread only.

#include <cstdint>
#include <memory>
#include <string>

#include "app/project_keys.h"
#include "core/config.h"

namespace substrate::net {
class io_pool;
class router;
struct http_metrics;
}  // namespace substrate::net

namespace substrate::app {

class api_role {
public:
  api_role(net::io_pool& pool, const core::config& cfg, project_keys keys, net::http_metrics& http_metrics);
  ~api_role();
  api_role(const api_role&) = delete;
  api_role& operator=(const api_role&) = delete;

  // The router to add service routes to; only before start().
  [[nodiscard]] net::router& routes();
  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const;
  // api.public_url, else http://<listen_address>:<port> (after start()).
  [[nodiscard]] std::string public_url() const;
  [[nodiscard]] const project_keys& keys() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::app
