#pragma once
// The ingress gateway as a role of a substrate process (issue 6; port 8080, config gateway.*):
// its routes file (followed with inotify), token verifier (HS256 with the project secret plus
// ES256/RS256 keys of gateway.jwks_file / gateway.jwks_url), the gateway::service endpoints and
// /metrics /healthz /readyz on its own listener. Events go to the given event_sink.
//
// Lifecycle: construct (reads the routes file and the JWKS; throws std::runtime_error naming
// the file when they are unusable), start() after pool.start() (binds, starts the watch),
// stop() before pool.stop() and before the sink is destroyed. Main thread only.

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/metrics.h"

namespace substrate::net {
class io_pool;
struct http_metrics;
}  // namespace substrate::net

namespace substrate::gateway {
class event_sink;
}

namespace substrate::app {

class gateway_role {
public:
  gateway_role(net::io_pool& pool, const core::config& cfg, const std::string& jwt_secret, gateway::event_sink& sink,
               core::metrics_registry& metrics, net::http_metrics& http_metrics);
  ~gateway_role();
  gateway_role(const gateway_role&) = delete;
  gateway_role& operator=(const gateway_role&) = delete;

  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const;
  // http://<listen_address>:<port> (after start()).
  [[nodiscard]] std::string url() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::app
