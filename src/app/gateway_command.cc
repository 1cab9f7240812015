#include "app/gateway_command.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "app/gateway_role.h"
#include "app/gateway_sink.h"
#include "app/logger.h"
#include "app/project_keys.h"
#include "app/signals.h"
#include "app/version.h"
#include "core/metrics.h"
#include "gateway/event_sink.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"

namespace substrate::app {

int run_gateway(const core::config& cfg) {
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  app_log.info("substrate gateway starting", {{"version", version}});
  core::metrics_registry metrics;
  core::register_process_metrics(metrics, version);
  net::http_metrics http_metrics(metrics);
  net::io_pool pool(static_cast<std::size_t>(cfg.http.shards), static_cast<std::size_t>(cfg.blocking_threads));
  std::unique_ptr<gateway::event_sink> sink;
  std::unique_ptr<gateway_role> gateway;
  int exit_code = 0;
  try {
    const auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string secret = load_project_keys(cfg.data_dir, cfg.api.jwt_secret, now_s).jwt_secret;
    sink = make_gateway_sink(cfg, "", "");
    gateway = std::make_unique<gateway_role>(pool, cfg, secret, *sink, metrics, http_metrics);
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    return 1;
  }
  net::readiness ready;
  ready.add({"event_sink", [&sink] { return sink->problem(); }});
  auto admin_routes = std::make_shared<net::router>();
  net::add_observability_routes(*admin_routes, metrics, ready, pool.blocking());
  net::http_server admin(pool,
                         {"admin", cfg.admin.listen_address, static_cast<std::uint16_t>(cfg.admin.port), cfg.http},
                         admin_routes, http_metrics);
  pool.start();
  try {
    admin.start();
    gateway->start();
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }
  if (exit_code == 0) {
    std::string banner = fmt::format("\nsubstrate {} gateway is up\n", version);
    banner +=
        fmt::format("  admin      http://{}:{}  (/metrics /healthz /readyz)\n", cfg.admin.listen_address, admin.port());
    banner += fmt::format("  gateway    {}  (routes: {})\n", gateway->url(), cfg.gateway.routes_file);
    banner += "Ctrl-C stops.\n\n";
    std::fputs(banner.c_str(), stdout);
    std::fflush(stdout);
    wait_for_stop(signals);
  }
  gateway->stop();
  gateway.reset();
  sink.reset();
  admin.stop();
  pool.stop();
  app_log.info("substrate gateway stopped", {{"exit_code", exit_code}});
  return exit_code;
}

}  // namespace substrate::app
