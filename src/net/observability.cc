#include "net/observability.h"

#include <nlohmann/json.hpp>

#include "net/io_pool.h"

namespace substrate::net {

void add_observability_routes(router& routes, core::metrics_registry& registry, const readiness& ready,
                              boost::asio::thread_pool& blocking) {
  routes.add("GET", "/metrics", [&registry, &blocking](http_request&) -> boost::asio::awaitable<http_response> {
    // Rendering reads /proc and walks every family: off the shard.
    std::string text = co_await run_blocking(blocking, [&registry] { return registry.render(); });
    co_return http_response::text(200, std::move(text), "text/plain; version=0.0.4; charset=utf-8");
  });
  routes.add("GET", "/healthz", [](http_request&) -> boost::asio::awaitable<http_response> {
    co_return http_response::json(200, R"({"status":"ok"})");
  });
  routes.add("GET", "/readyz", [&ready, &blocking](http_request&) -> boost::asio::awaitable<http_response> {
    auto failures = co_await run_blocking(blocking, [&ready] {
      nlohmann::json failing = nlohmann::json::object();
      for (const auto& check : ready.checks()) {
        if (auto problem = check.probe()) failing[check.name] = *problem;
      }
      return failing;
    });
    nlohmann::json body;
    if (failures.empty()) {
      body = {{"status", "ready"}};
      co_return http_response::json(200, body.dump());
    }
    body = {{"status", "unavailable"}, {"failing", failures}};
    co_return http_response::json(503, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

}  // namespace substrate::net
