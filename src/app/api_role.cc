#include "app/api_role.h"

#include <chrono>

#include <fmt/format.h>

#include "auth/jwt.h"
#include "net/http_server.h"
#include "net/router.h"

namespace substrate::app {
namespace {

// Paths served without an API key: public key material, as GoTrue serves it.
bool key_exempt(std::string_view path) {
  return path == "/auth/v1/.well-known/jwks.json" || path == "/auth/v1/health";
}

net::http_response key_error(std::string_view message, std::string_view hint) {
  return net::http_response::json(401, nlohmann::json{{"message", message}, {"hint", hint}}.dump());
}

}  // namespace

struct api_role::impl {
  const core::config& cfg;
  project_keys keys;
  std::shared_ptr<net::router> routes;
  std::unique_ptr<net::http_server> server;

  [[nodiscard]] bool valid_key(std::string_view key) const {
    if (key == keys.anon_key || key == keys.service_role_key) return true;
    const auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto token = auth::verify_hs256(key, keys.jwt_secret, {.now_s = now_s});
    if (!token) return false;
    const auto role = token->claims.find("role");
    return role != token->claims.end() && role->is_string() && (*role == "anon" || *role == "service_role");
  }

  [[nodiscard]] std::optional<net::http_response> check_key(const net::http_request& request) const {
    if (key_exempt(request.path)) return std::nullopt;
    std::optional<std::string> key;
    if (auto header = request.header("apikey")) {
      key = std::string(*header);
    } else {
      key = request.query_param("apikey");
    }
    if (!key || key->empty()) {
      return key_error("No API key found in request", "No `apikey` request header or url param was found.");
    }
    if (!valid_key(*key)) {
      return key_error("Invalid API key", "Double check your Supabase `anon` or `service_role` API key.");
    }
    return std::nullopt;
  }
};

api_role::api_role(net::io_pool& pool, const core::config& cfg, project_keys keys, net::http_metrics& http_metrics)
    : impl_(std::make_unique<impl>(impl{cfg, std::move(keys), std::make_shared<net::router>(), nullptr})) {
  impl_->routes->set_guard(
      [state = impl_.get()](const net::http_request& request) { return state->check_key(request); });
  core::http_config limits = cfg.http;
  limits.cors_origins = cfg.api.cors_origins;
  impl_->server = std::make_unique<net::http_server>(
      pool, net::http_server_options{"api", cfg.api.listen_address, static_cast<std::uint16_t>(cfg.api.port), limits},
      impl_->routes, http_metrics);
}

api_role::~api_role() = default;

net::router& api_role::routes() {
  return *impl_->routes;
}
void api_role::start() {
  impl_->server->start();
}
void api_role::stop() {
  impl_->server->stop();
}
std::uint16_t api_role::port() const {
  return impl_->server->port();
}
const project_keys& api_role::keys() const {
  return impl_->keys;
}

std::string api_role::public_url() const {
  if (!impl_->cfg.api.public_url.empty()) {
    std::string url = impl_->cfg.api.public_url;
    while (url.ends_with('/')) url.pop_back();
    return url;
  }
  return fmt::format("http://{}:{}", impl_->cfg.api.listen_address, port());
}

}  // namespace substrate::app
