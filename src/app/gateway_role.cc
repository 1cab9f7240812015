#include "app/gateway_role.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "app/logger.h"
#include "gateway/event_sink.h"
#include "gateway/routes.h"
#include "gateway/service.h"
#include "gateway/token_verifier.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"

namespace substrate::app {
namespace {

std::vector<gateway::jwk> load_jwks(const core::gateway_config& cfg) {
  std::vector<gateway::jwk> keys;
  if (!cfg.jwks_file.empty()) {
    std::ifstream in(cfg.jwks_file, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("gateway.jwks_file: cannot read {}", cfg.jwks_file));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = gateway::parse_jwks(text.str());
    if (!parsed)
      throw std::runtime_error(fmt::format("gateway.jwks_file {}: {}", cfg.jwks_file, parsed.error().message()));
    keys = std::move(*parsed);
    app_log.info("gateway: JWKS keys loaded", {{"file", cfg.jwks_file}, {"keys", keys.size()}});
  }
  if (!cfg.jwks_url.empty()) {
    // Fetched once at start, as the reference does (contracts.md 3.1.2): a failure is a warning
    // and tokens of those keys are refused until a restart.
    const auto scheme_end = cfg.jwks_url.find("://");
    const auto path_start = cfg.jwks_url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    const std::string base = cfg.jwks_url.substr(0, path_start);
    const std::string target = path_start == std::string::npos ? "/" : cfg.jwks_url.substr(path_start);
    try {
      net::http_client client(base, {.timeout_ms = 5'000, .response_bytes_max = 1 << 20, .keep_alive = false});
      auto response = client.request("GET", target, {{"Accept", "application/json"}});
      if (!response) {
        app_log.warn("gateway: cannot fetch gateway.jwks_url; ES256/RS256 tokens of it are refused",
                     {{"url", cfg.jwks_url}, {"error", response.error().message()}});
      } else if (response->status != 200) {
        app_log.warn("gateway: gateway.jwks_url did not answer 200; ES256/RS256 tokens of it are refused",
                     {{"url", cfg.jwks_url}, {"status", response->status}});
      } else if (auto parsed = gateway::parse_jwks(response->body); !parsed) {
        app_log.warn("gateway: gateway.jwks_url is not a usable JWKS; ES256/RS256 tokens of it are refused",
                     {{"url", cfg.jwks_url}, {"error", parsed.error().message()}});
      } else {
        app_log.info("gateway: JWKS keys fetched", {{"url", cfg.jwks_url}, {"keys", parsed->size()}});
        for (auto& key : *parsed) keys.push_back(std::move(key));
      }
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("gateway.jwks_url: {}", e.what()));
    }
  }
  return keys;
}

}  // namespace

struct gateway_role::impl {
  const core::config& cfg;
  gateway::event_sink& sink;
  gateway::route_store routes;
  gateway::token_verifier verifier;
  net::readiness ready;
  gateway::service service;
  std::shared_ptr<net::router> router = std::make_shared<net::router>();
  std::unique_ptr<net::http_server> server;

  impl(net::io_pool& pool, const core::config& c, const std::string& jwt_secret, gateway::event_sink& s,
       core::metrics_registry& metrics, net::http_metrics& http_metrics)
      : cfg(c),
        sink(s),
        routes(c.gateway.routes_file, metrics),
        verifier(jwt_secret, load_jwks(c.gateway)),
        service(
            gateway::service_options{
                .webhook_secret = c.gateway.webhook_secret,
                .media = {c.gateway.media_types, c.gateway.media_file_size_max},
                .rate_per_s = static_cast<double>(c.gateway.rate_limit_per_s),
                .rate_burst = static_cast<double>(c.gateway.rate_limit_burst),
            },
            verifier, routes, s, metrics, pool.blocking()) {
    ready.add({"event_sink", [this] { return sink.problem(); }});
    service.add_routes(*router);
    net::add_observability_routes(*router, metrics, ready, pool.blocking());
    core::http_config limits = c.http;
    limits.body_bytes_max = c.gateway.body_bytes_max;
    limits.cors_origins = {"*"};
    server =
        std::make_unique<net::http_server>(pool,
                                           net::http_server_options{"gateway", c.gateway.listen_address,
                                                                    static_cast<std::uint16_t>(c.gateway.port), limits},
                                           router, http_metrics);
  }
};

gateway_role::gateway_role(net::io_pool& pool, const core::config& cfg, const std::string& jwt_secret,
                           gateway::event_sink& sink, core::metrics_registry& metrics, net::http_metrics& http_metrics)
    : impl_(std::make_unique<impl>(pool, cfg, jwt_secret, sink, metrics, http_metrics)) {}

gateway_role::~gateway_role() = default;

void gateway_role::start() {
  impl_->server->start();
  try {
    impl_->routes.watch();
  } catch (const std::exception& e) {
    app_log.warn("gateway: routes file changes are not followed: {}", e.what());
  }
}

void gateway_role::stop() {
  impl_->server->stop();
  impl_->routes.stop();
}

std::uint16_t gateway_role::port() const {
  return impl_->server->port();
}

std::string gateway_role::url() const {
  return fmt::format("http://{}:{}", impl_->cfg.gateway.listen_address, port());
}

}  // namespace substrate::app
