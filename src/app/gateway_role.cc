#include "app/gateway_role.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "app/logger.h"
#include "gateway/errc.h"
#include "gateway/event_sink.h"
#include "gateway/jwks_refresher.h"
#include "gateway/routes.h"
#include "gateway/service.h"
#include "gateway/token_verifier.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"

namespace substrate::app {
namespace {

std::vector<gateway::jwk> load_jwks_file(const core::gateway_config& cfg) {
  if (cfg.jwks_file.empty()) return {};
  std::ifstream in(cfg.jwks_file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("gateway.jwks_file: cannot read {}", cfg.jwks_file));
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = gateway::parse_jwks(text.str());
  if (!parsed)
    throw std::runtime_error(fmt::format("gateway.jwks_file {}: {}", cfg.jwks_file, parsed.error().message()));
  app_log.info("gateway: JWKS keys loaded", {{"file", cfg.jwks_file}, {"keys", parsed->size()}});
  return std::move(*parsed);
}

// GET gateway.jwks_url (blocking, bounded by its timeout): the document, or why not.
gateway::jwks_refresher::fetch_function jwks_fetcher(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string base = url.substr(0, path_start);
  const std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
  try {
    // Validates the URL now, so a bad one fails the start-up.
    net::http_client probe(base, {.timeout_ms = 5'000, .response_bytes_max = 1 << 20, .keep_alive = false});
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("gateway.jwks_url: {}", e.what()));
  }
  return [base, target]() -> result<std::string> {
    net::http_client client(base, {.timeout_ms = 5'000, .response_bytes_max = 1 << 20, .keep_alive = false});
    auto response = client.request("GET", target, {{"Accept", "application/json"}});
    if (!response) return tl::unexpected(std::move(response.error()));
    if (response->status != 200) {
      return make_error(gateway::errc::invalid_jwks, fmt::format("the JWKS URL answered {}", response->status));
    }
    return std::move(response->body);
  };
}

// The keys at start: the file's, plus the URL's when it answers (else a warning: tokens of its
// keys are refused until a refresh succeeds).
std::vector<gateway::jwk> initial_keys(const core::gateway_config& cfg, const std::vector<gateway::jwk>& file_keys,
                                       const gateway::jwks_refresher::fetch_function& fetch) {
  std::vector<gateway::jwk> keys = file_keys;
  if (!fetch) return keys;
  auto text = fetch();
  auto parsed = text ? gateway::parse_jwks(*text) : result<std::vector<gateway::jwk>>(tl::unexpected(text.error()));
  if (!parsed) {
    app_log.warn("gateway: cannot use gateway.jwks_url yet; its ES256/RS256 tokens are refused until a refresh works",
                 {{"url", cfg.jwks_url}, {"error", parsed.error().message()}});
    return keys;
  }
  app_log.info("gateway: JWKS keys fetched", {{"url", cfg.jwks_url}, {"keys", parsed->size()}});
  for (auto& key : *parsed) keys.push_back(std::move(key));
  return keys;
}

}  // namespace

struct gateway_role::impl {
  const core::config& cfg;
  gateway::event_sink& sink;
  gateway::route_store routes;
  std::vector<gateway::jwk> file_keys;
  gateway::jwks_refresher::fetch_function fetch_jwks;
  gateway::token_verifier verifier;
  std::unique_ptr<gateway::jwks_refresher> refresher;
  net::readiness ready;
  gateway::service service;
  std::shared_ptr<net::router> router = std::make_shared<net::router>();
  std::unique_ptr<net::http_server> server;

  impl(net::io_pool& pool, const core::config& c, const std::string& jwt_secret, gateway::event_sink& s,
       core::metrics_registry& metrics, net::http_metrics& http_metrics)
      : cfg(c),
        sink(s),
        routes(c.gateway.routes_file, metrics),
        file_keys(load_jwks_file(c.gateway)),
        fetch_jwks(c.gateway.jwks_url.empty() ? nullptr : jwks_fetcher(c.gateway.jwks_url)),
        verifier(jwt_secret, initial_keys(c.gateway, file_keys, fetch_jwks)),
        service(
            gateway::service_options{
                .webhook_secret = c.gateway.webhook_secret,
                .media = {c.gateway.media_types, c.gateway.media_file_size_max},
                .rate_per_s = static_cast<double>(c.gateway.rate_limit_per_s),
                .rate_burst = static_cast<double>(c.gateway.rate_limit_burst),
            },
            verifier, routes, s, metrics, pool.blocking()) {
    if (fetch_jwks) {
      refresher = std::make_unique<gateway::jwks_refresher>(
          verifier, file_keys, fetch_jwks,
          gateway::jwks_refresher_options{.refresh_ms = c.gateway.jwks_refresh_s * 1000,
                                          .min_interval_ms = c.gateway.jwks_refresh_min_s * 1000},
          metrics, std::chrono::steady_clock::now());
      verifier.on_unknown_kid([r = refresher.get()](const std::string&) { r->request(); });
    }
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
  if (impl_->refresher) impl_->refresher->start();
  try {
    impl_->routes.watch();
  } catch (const std::exception& e) {
    app_log.warn("gateway: routes file changes are not followed: {}", e.what());
  }
}

void gateway_role::stop() {
  impl_->server->stop();
  if (impl_->refresher) impl_->refresher->stop();
  impl_->routes.stop();
}

std::uint16_t gateway_role::port() const {
  return impl_->server->port();
}

std::string gateway_role::url() const {
  return fmt::format("http://{}:{}", impl_->cfg.gateway.listen_address, port());
}

}  // namespace substrate::app
