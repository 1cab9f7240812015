#include "app/registry_command.h"

#include <signal.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "app/logger.h"
#include "app/registry_role.h"
#include "app/signals.h"
#include "app/version.h"
#include "core/metrics.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"
#include "schema/kafka_store.h"
#include "schema/provision.h"
#include "schema/registry.h"

namespace substrate::app {

int run_registry(const core::config& cfg) {
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const std::string bootstrap = registry_bootstrap(cfg, "");
  app_log.info("substrate registry starting", {{"version", version}, {"kafka", bootstrap}});
  core::metrics_registry metrics;
  core::register_process_metrics(metrics, version);
  net::http_metrics http_metrics(metrics);
  net::io_pool pool(static_cast<std::size_t>(cfg.http.shards), static_cast<std::size_t>(cfg.blocking_threads));
  registry_role registry(pool, cfg, bootstrap, http_metrics);
  net::readiness ready;
  ready.add({"schema_registry", [&registry] { return registry.problem(); }});
  auto admin_routes = std::make_shared<net::router>();
  net::add_observability_routes(*admin_routes, metrics, ready, pool.blocking());
  net::http_server admin(pool,
                         {"admin", cfg.admin.listen_address, static_cast<std::uint16_t>(cfg.admin.port), cfg.http},
                         admin_routes, http_metrics);
  int exit_code = 0;
  pool.start();
  try {
    admin.start();
    registry.start();
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }
  if (exit_code == 0) {
    std::string banner = fmt::format("\nsubstrate {} schema registry is up\n", version);
    banner +=
        fmt::format("  admin      http://{}:{}  (/metrics /healthz /readyz)\n", cfg.admin.listen_address, admin.port());
    banner += fmt::format("  registry   {}  (schemas in {} on {})\n", registry.url(), cfg.registry.topic, bootstrap);
    banner += "Ctrl-C stops.\n\n";
    std::fputs(banner.c_str(), stdout);
    std::fflush(stdout);
  }
  if (exit_code == 0) wait_for_stop(signals);
  registry.stop();
  admin.stop();
  pool.stop();
  app_log.info("substrate registry stopped", {{"exit_code", exit_code}});
  return exit_code;
}

int run_provision(const core::config& cfg) {
  const std::string bootstrap = registry_bootstrap(cfg, "");
  try {
    schema::registry registry;
    schema::kafka_store store(registry,
                              {bootstrap, cfg.registry.topic, cfg.registry.timeout_ms, registry_client_settings(cfg)});
    store.start();
    provision(cfg, bootstrap, registry);
    store.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "substrate: provisioning failed: %s\n", e.what());
    return 1;
  }
  std::printf("provisioned %zu topics and their schemas on %s\n", schema::embedded_schemas().size(), bootstrap.c_str());
  return 0;
}

}  // namespace substrate::app
