#include "app/broker_command.h"

#include <signal.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "app/data_dir.h"
#include "app/kafka_role.h"
#include "app/logger.h"
#include "app/signals.h"
#include "app/version.h"
#include "core/metrics.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"

namespace substrate::app {

int run_broker(const core::config& cfg) {
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<data_dir_lock> lock;
  try {
    lock = std::make_unique<data_dir_lock>(cfg.data_dir);
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    return 1;
  }
  app_log.info("substrate broker starting", {{"version", version}, {"data_dir", lock->path()}});

  core::metrics_registry metrics;
  core::register_process_metrics(metrics, version);
  net::http_metrics http_metrics(metrics);
  net::io_pool pool(static_cast<std::size_t>(cfg.http.shards), static_cast<std::size_t>(cfg.blocking_threads));
  net::readiness ready;
  auto admin_routes = std::make_shared<net::router>();
  net::add_observability_routes(*admin_routes, metrics, ready, pool.blocking());
  net::http_server admin(pool,
                         {"admin", cfg.admin.listen_address, static_cast<std::uint16_t>(cfg.admin.port), cfg.http},
                         admin_routes, http_metrics);
  std::unique_ptr<kafka_role> kafka;
  int exit_code = 0;
  try {
    kafka = std::make_unique<kafka_role>(pool, cfg, lock->path(), metrics);
  } catch (const std::exception& e) {
    app_log.error("start-up failed: the Kafka broker cannot open {}: {}", lock->path(), e.what());
    exit_code = 1;
  }
  pool.start();
  try {
    if (exit_code == 0) {
      admin.start();
      kafka->start();
    }
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }
  if (exit_code == 0) {
    std::string banner = fmt::format("\nsubstrate {} broker is up\n", version);
    banner += fmt::format("  data dir   {}\n", lock->path());
    banner +=
        fmt::format("  admin      http://{}:{}  (/metrics /healthz /readyz)\n", cfg.admin.listen_address, admin.port());
    banner += fmt::format("  kafka      {}  ({})\n", kafka->address(), kafka->security_summary());
    banner += "Ctrl-C stops.\n\n";
    std::fputs(banner.c_str(), stdout);
    std::fflush(stdout);
  }
  if (exit_code == 0) wait_for_stop(signals);
  if (kafka) kafka->stop();
  admin.stop();
  pool.stop();
  app_log.info("substrate broker stopped", {{"exit_code", exit_code}});
  return exit_code;
}

}  // namespace substrate::app
