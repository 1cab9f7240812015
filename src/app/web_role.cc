#include "app/web_role.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "net/http_server.h"
#include "net/router.h"
#include "net/static_site.h"

namespace substrate::app {

struct web_role::impl {
  std::string root;
  std::shared_ptr<const net::static_site> site;
  std::unique_ptr<net::http_server> server;
  std::string listen_address;
};

web_role::web_role(net::io_pool& pool, const core::config& cfg, web_app_settings settings,
                   net::http_metrics& http_metrics)
    : impl_(std::make_unique<impl>()) {
  impl_->root = cfg.web.root.empty() ? std::string(SUBSTRATE_SOURCE_DIR) + "/web/dist" : cfg.web.root;
  impl_->site = net::static_site::load(impl_->root);
  impl_->listen_address = cfg.web.listen_address;
  auto routes = std::make_shared<net::router>();
  const std::string config_json = nlohmann::json{
      {"supabaseUrl", settings.supabase_url},
      {"anonKey", settings.anon_key},
      {"gatewayUrl",
       settings.gateway_url}}.dump();
  routes->add("GET", "/config.json", [config_json](net::http_request&) -> boost::asio::awaitable<net::http_response> {
    auto response = net::http_response::json(200, config_json);
    response.set_header("Cache-Control", "no-store");
    co_return response;
  });
  if (impl_->site->empty()) {
    const std::string root = impl_->root;
    auto not_built = [root](net::http_request&) -> boost::asio::awaitable<net::http_response> {
      co_return net::http_response::text(
          503,
          fmt::format("The web app is not built: no files in {}. Run `make build` (npm ci + vite build in web/).\n",
                      root));
    };
    routes->add("GET", "/", not_built);
    routes->add("GET", "/{path*}", not_built);
  } else {
    net::add_static_site_routes(*routes, impl_->site);
  }
  impl_->server = std::make_unique<net::http_server>(
      pool, net::http_server_options{"web", cfg.web.listen_address, static_cast<std::uint16_t>(cfg.web.port), cfg.http},
      routes, http_metrics);
}

web_role::~web_role() = default;

void web_role::start() {
  impl_->server->start();
}
void web_role::stop() {
  impl_->server->stop();
}
bool web_role::built() const {
  return !impl_->site->empty();
}
const std::string& web_role::root() const {
  return impl_->root;
}
std::string web_role::url() const {
  return fmt::format("http://{}:{}", impl_->listen_address, impl_->server->port());
}

}  // namespace substrate::app
