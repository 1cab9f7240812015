#include "app/up.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "app/api_role.h"
#include "app/bus_settings.h"
#include "app/data_dir.h"
#include "app/gateway_role.h"
#include "app/gateway_sink.h"
#include "app/kafka_role.h"
#include "app/logger.h"
#include "app/outbox_role.h"
#include "app/processors_role.h"
#include "app/registry_role.h"
#include "app/signals.h"
#include "app/version.h"
#include "app/web_role.h"
#include "auth/routes.h"
#include "auth/service.h"
#include "core/metrics.h"
#include "db/connection.h"
#include "db/managed_postgres.h"
#include "db/migrations.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"
#include "realtime/hub.h"
#include "realtime/routes.h"
#include "realtime/source.h"
#include "rest/service.h"

namespace substrate::app {
namespace {

std::string shell_quote(const std::string& value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

std::string redact_password(const std::string& url) {
  // postgresql://user:password@host -> postgresql://user:********@host
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "********" + url.substr(at);
}

}  // namespace

int run_up(const core::config& cfg) {
  const sigset_t signals = handled_signals();
  // Before any thread exists, so every thread inherits the mask.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<data_dir_lock> lock;
  std::unique_ptr<db::managed_postgres> postgres;
  std::string conninfo;
  std::string database_url;
  try {
    lock = std::make_unique<data_dir_lock>(cfg.data_dir);
    app_log.info("substrate starting", {{"version", version}, {"data_dir", lock->path()}});
    if (cfg.database.url.empty()) {
      postgres = std::make_unique<db::managed_postgres>(lock->path(), cfg.database);
      postgres->start();
      conninfo = postgres->conninfo();
      database_url = postgres->url();
    } else {
      conninfo = cfg.database.url;
      database_url = cfg.database.url;
      app_log.info("using the external PostgreSQL of database.url");
    }
    auto connection = db::connection::open(conninfo, static_cast<int>(cfg.database.connect_timeout_ms));
    if (!connection) throw std::runtime_error(connection.error().message());
    auto report = db::apply_migrations(*connection, db::embedded_migrations());
    if (!report) throw std::runtime_error(report.error().message());
    app_log.info("migrations up to date", {{"applied", report->applied}, {"already_applied", report->already_applied}});
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    if (postgres) postgres->stop();
    return 1;
  }

  core::metrics_registry metrics;
  core::register_process_metrics(metrics, version);
  net::http_metrics http_metrics(metrics);
  net::io_pool pool(static_cast<std::size_t>(cfg.http.shards), static_cast<std::size_t>(cfg.blocking_threads));
  net::readiness ready;
  const int ping_timeout_ms = static_cast<int>(std::min<std::int64_t>(cfg.database.connect_timeout_ms, 2000));
  ready.add({"postgres", [conninfo, ping_timeout_ms]() -> std::optional<std::string> {
               if (auto problem = db::ping(conninfo, ping_timeout_ms)) return "PostgreSQL: " + *problem;
               return std::nullopt;
             }});
  auto admin_routes = std::make_shared<net::router>();
  net::add_observability_routes(*admin_routes, metrics, ready, pool.blocking());
  net::http_server admin(pool,
                         {"admin", cfg.admin.listen_address, static_cast<std::uint16_t>(cfg.admin.port), cfg.http},
                         admin_routes, http_metrics);
  // The Kafka-protocol broker: its topics live in <data_dir>/kafka. Opening it recovers every
  // partition (blocking, before the shards run).
  std::unique_ptr<kafka_role> kafka;
  // The schema registry, on the built-in broker unless registry.kafka_bootstrap names another
  // cluster; created here so that /readyz can name it, started once the broker listens.
  std::unique_ptr<registry_role> registry;
  std::unique_ptr<outbox_role> outbox;  // after the API (its writers), before the registry and the broker
  std::atomic<const registry_role*> registry_serving{nullptr};  // read by /readyz on the blocking pool
  // Start-up done, substrate.env and the banner written. Its own check, so that /readyz waits for
  // them whatever is enabled (with the registry off, nothing else would).
  std::atomic<bool> started{false};
  ready.add({"startup", [&started]() -> std::optional<std::string> {
               if (!started.load()) return "starting";
               return std::nullopt;
             }});
  if (cfg.registry.enabled) {
    ready.add({"schema_registry", [&registry_serving]() -> std::optional<std::string> {
                 const auto* serving = registry_serving.load();
                 if (!serving) return "starting";
                 return serving->problem();
               }});
  }
  // The ingress gateway (issue 6): started once the registry serves; its sink produces to the
  // registry's cluster and is destroyed (flushed) after the listener stopped.
  std::unique_ptr<gateway::event_sink> gateway_sink;
  std::unique_ptr<gateway_role> gateway;
  int exit_code = 0;
  // The Supabase-compatible API (issue 5): services add their routes to api->routes() before
  // it starts. The services outlive the listener (declared first, destroyed last).
  std::unique_ptr<auth::service> auth_service;
  std::unique_ptr<api_role> api;
  // The stream processors (issue 7), started once the registry and provisioning are done.
  std::unique_ptr<processors_role> processors;
  // The web app (issue 9), started once the API's URL is known.
  std::unique_ptr<web_role> web;
  std::unique_ptr<rest::service> rest_service;
  try {
    if (cfg.api.enabled) {
      const auto now_s =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      api = std::make_unique<api_role>(pool, cfg, load_project_keys(lock->path(), cfg.api.jwt_secret, now_s),
                                       http_metrics);
      // Auth (/auth/v1): GoTrue-compatible sign-up, sign-in, sessions and the admin API.
      auth_service = std::make_unique<auth::service>(
          pool, auth::service_options{.conninfo = conninfo,
                                      .connect_timeout_ms = static_cast<int>(cfg.database.connect_timeout_ms),
                                      .config = cfg.auth,
                                      .jwt_secret = api->keys().jwt_secret,
                                      .issuer = [served = api.get()] { return served->public_url() + "/auth/v1"; },
                                      .now_us = {},
                                      .metrics = &metrics});
      auth::add_routes(api->routes(), *auth_service);
    }
    // REST (/rest/v1): logs in as the authenticator role, which can only become anon,
    // authenticated or service_role (managed cluster: over the unix socket, trusted locally).
    if (api && cfg.rest.enabled) {
      std::string rest_conninfo = cfg.rest.database_url;
      if (rest_conninfo.empty() && postgres) {
        rest_conninfo = conninfo + " user=authenticator application_name=substrate-rest";
      } else if (rest_conninfo.empty()) {
        rest_conninfo = conninfo;
        app_log.warn(
            "rest.database_url is empty: REST connects with database.url; set it to an authenticator login role "
            "(LOGIN NOINHERIT, member of anon, authenticated and service_role)");
      }
      rest::service_options options;
      options.jwt_secret = api->keys().jwt_secret;
      options.schemas = cfg.rest.schemas;
      options.pool = {rest_conninfo, static_cast<std::size_t>(cfg.rest.pool_size),
                      static_cast<int>(cfg.rest.pool_timeout_ms), static_cast<int>(cfg.database.connect_timeout_ms),
                      "set timezone = 'UTC'"};
      options.limits.in_list_max = static_cast<std::size_t>(cfg.rest.in_list_max);
      options.limits.logic_depth_max = static_cast<std::size_t>(cfg.rest.logic_depth_max);
      options.prepared_statements = cfg.rest.prepared_statements;
      rest_service = std::make_unique<rest::service>(pool, std::move(options));
      if (auto loaded = rest_service->load_schema(); !loaded) {
        throw std::runtime_error("REST cannot read the schema: " + loaded.error().message());
      }
      rest_service->start_listener(rest_conninfo);
      rest::add_routes(api->routes(), *rest_service);
    }
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }
  // Realtime (issue 8): postgres_changes at /realtime/v1/websocket. Its replication slot exists
  // before the listener accepts joins; it stops after the listener.
  std::unique_ptr<realtime::hub> realtime_hub;
  std::unique_ptr<realtime::source> realtime_source;
  try {
    if (exit_code == 0 && api && cfg.realtime.enabled) {
      realtime_hub = std::make_unique<realtime::hub>(api->keys().jwt_secret);
      realtime::add_routes(api->routes(), *realtime_hub);
      // One slot per instance: several `up` may share one database (scale-out); the slots of
      // instances gone for realtime.stale_slot_timeout_s are swept.
      realtime::source_options options{.conninfo = conninfo,
                                       .slot_name = "substrate_realtime_" + instance_id(lock->path()),
                                       .connect_timeout_ms = static_cast<int>(cfg.database.connect_timeout_ms)};
      options.batch_changes_max = static_cast<std::size_t>(cfg.realtime.batch_changes_max);
      options.stale_slot_prefix = "substrate_realtime_";
      options.stale_slot_timeout_ms = cfg.realtime.stale_slot_timeout_s * 1000;
      realtime_source = std::make_unique<realtime::source>(std::move(options), *realtime_hub);
      realtime_source->start();
    }
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }
  try {
    if (exit_code == 0 && cfg.kafka.enabled) kafka = std::make_unique<kafka_role>(pool, cfg, lock->path(), metrics);
  } catch (const std::exception& e) {
    app_log.error("start-up failed: the Kafka broker cannot open {}: {}", lock->path(), e.what());
    exit_code = 1;
  }

  pool.start();
  try {
    if (exit_code == 0) admin.start();
    if (exit_code == 0 && api) api->start();
    if (exit_code == 0 && api && cfg.web.enabled) {
      web = std::make_unique<web_role>(
          pool, cfg,
          web_app_settings{api->public_url(), api->keys().anon_key,
                           cfg.web.gateway_url.empty()
                               ? fmt::format("http://{}:{}", cfg.gateway.listen_address, cfg.gateway.port)
                               : cfg.web.gateway_url},
          http_metrics);
      web->start();
      if (!web->built()) app_log.warn("the web app is not built (no files in {}): run `make build`", web->root());
    }
    if (exit_code == 0 && kafka) kafka->start();
    if (exit_code == 0 && cfg.registry.enabled) {
      if (kafka && cfg.registry.kafka_bootstrap.empty() && cfg.kafka.sasl.enabled &&
          cfg.registry.kafka_sasl_mechanism.empty()) {
        throw std::runtime_error(
            "kafka.sasl.enabled: the schema registry needs a broker user (substrate kafka user add ...) in "
            "registry.kafka_sasl_mechanism/_username/_password, or registry.enabled=false");
      }
      if (!kafka && cfg.registry.kafka_bootstrap.empty()) {
        throw std::runtime_error(
            "the schema registry needs a Kafka cluster: enable kafka or set registry.kafka_bootstrap");
      }
      registry = std::make_unique<registry_role>(pool, cfg, registry_bootstrap(cfg, kafka ? kafka->address() : ""),
                                                 http_metrics);
      registry->start();
      if (cfg.provision.enabled) provision(cfg, registry->bootstrap(), registry->registry());
    }
    // The outbox relay (bus/outbox_relay.h): substrate.outbox -> Kafka, once the database, the
    // broker and the registry are there and the topics are provisioned.
    if (exit_code == 0 && cfg.outbox.enabled && (registry || !cfg.bus.registry_url.empty()) &&
        (kafka || !cfg.bus.kafka_bootstrap.empty() || !cfg.registry.kafka_bootstrap.empty())) {
      outbox = std::make_unique<outbox_role>(cfg, conninfo, kafka ? kafka->address() : "",
                                             registry ? registry->url() : "", metrics);
      outbox->start();
    }
    if (exit_code == 0 && cfg.processors.enabled) {
      // The processors decode through the in-process registry; without SASL they need no broker
      // user (and no ACLs).
      if (!registry) throw std::runtime_error("the stream processors need the schema registry: set registry.enabled");
      if (kafka && cfg.processors.kafka_bootstrap.empty() && cfg.kafka.sasl.enabled &&
          cfg.processors.kafka_sasl_mechanism.empty()) {
        throw std::runtime_error(
            "kafka.sasl.enabled: the stream processors need a broker user (substrate kafka user add ...) in "
            "processors.kafka_sasl_mechanism/_username/_password, or processors.enabled=false");
      }
      // They consume where the topics were provisioned: the registry's cluster, which is the
      // built-in broker unless registry.kafka_bootstrap names another (with kafka.enabled=false
      // there is no built-in broker to fall back on).
      processors = std::make_unique<processors_role>(cfg, processors_bootstrap(cfg, registry->bootstrap()), conninfo,
                                                     metrics, std::vector<std::string>{}, &registry->registry());
      processors->start();
    }
    if (exit_code == 0 && cfg.gateway.enabled) {
      if (!registry)
        throw std::runtime_error("gateway.enabled: the gateway needs the schema registry (registry.enabled)");
      const auto now_s =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      const std::string jwt_secret =
          api ? api->keys().jwt_secret : load_project_keys(lock->path(), cfg.api.jwt_secret, now_s).jwt_secret;
      // The built-in broker takes the events directly when it is where they would go anyway
      // (bus_connection's choice, so the two cannot disagree).
      in_process_broker local;
      if (kafka && cfg.gateway.in_process_broker &&
          bus_connection(cfg, registry->bootstrap()).bootstrap == kafka->address()) {
        local = in_process_broker{&pool, &kafka->broker()};
      }
      gateway_sink = make_gateway_sink(cfg, registry->bootstrap(), registry->url(), local);
      gateway = std::make_unique<gateway_role>(pool, cfg, jwt_secret, *gateway_sink, metrics, http_metrics);
      gateway->start();
    }
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }

  if (exit_code == 0) {
    const std::string admin_url = fmt::format("http://{}:{}", cfg.admin.listen_address, admin.port());
    std::string env;
    env += "DATA_DIR=" + shell_quote(lock->path()) + "\n";
    env += "ADMIN_URL=" + shell_quote(admin_url) + "\n";
    env += "METRICS_URL=" + shell_quote(admin_url + "/metrics") + "\n";
    env += "DATABASE_URL=" + shell_quote(database_url) + "\n";
    if (kafka) env += "KAFKA_BROKERS=" + shell_quote(kafka->address()) + "\n";
    if (registry) env += "SCHEMA_REGISTRY_URL=" + shell_quote(registry->url()) + "\n";
    if (gateway) env += "GATEWAY_URL=" + shell_quote(gateway->url()) + "\n";
    if (api) {
      env += "SUPABASE_URL=" + shell_quote(api->public_url()) + "\n";
      env += "SUPABASE_ANON_KEY=" + shell_quote(api->keys().anon_key) + "\n";
      env += "SUPABASE_SERVICE_ROLE_KEY=" + shell_quote(api->keys().service_role_key) + "\n";
    }
    if (web) env += "WEB_URL=" + shell_quote(web->url()) + "\n";
    if (postgres) {
      env += "PGHOST=" + shell_quote(cfg.database.listen_address) + "\nPGPORT=" + std::to_string(cfg.database.port) +
             "\nPGUSER=postgres\nPGDATABASE=postgres\n";
    }
    const std::string env_path = lock->path() + "/substrate.env";
    try {
      write_file_atomically(env_path, env, 0600);
    } catch (const std::exception& e) {
      app_log.error("{}", e.what());
      exit_code = 1;
    }
    if (exit_code == 0) {
      std::string banner = fmt::format("\nsubstrate {} is up\n", version);
      banner += fmt::format("  data dir   {}\n", lock->path());
      banner += fmt::format("  admin      {}  (/metrics /healthz /readyz)\n", admin_url);
      if (kafka) banner += fmt::format("  kafka      {}  ({})\n", kafka->address(), kafka->security_summary());
      if (registry) {
        banner += fmt::format("  registry   {}  (schemas in {} on {})\n", registry->url(), cfg.registry.topic,
                              registry->bootstrap());
      }
      if (gateway) {
        banner += fmt::format("  gateway    {}  (/api/v1/events /webhooks /api/v1/media routes: {})\n", gateway->url(),
                              cfg.gateway.routes_file);
      }
      if (api) {
        banner += fmt::format("  api        {}  (/auth/v1 /rest/v1 /realtime/v1)\n", api->public_url());
        banner += fmt::format("  anon key   {}\n", api->keys().anon_key);
        banner += fmt::format("  service    {}  (service_role: bypasses RLS, keep it secret)\n",
                              api->keys().service_role_key);
      }
      if (processors) banner += fmt::format("  processors {}\n", processors->summary());
      if (web)
        banner += fmt::format("  web app    {}{}\n", web->url(), web->built() ? "" : "  (not built: make build)");
      banner +=
          fmt::format("  postgres   {}{}\n", redact_password(database_url), postgres ? "  (managed)" : "  (external)");
      banner += fmt::format("  env file   {}  (source it: URLs and keys)\n", env_path);
      banner += "Ctrl-C stops.\n\n";
      std::fputs(banner.c_str(), stdout);
      std::fflush(stdout);
      // Ready only now: whoever waits for /readyz finds the banner and substrate.env complete.
      registry_serving = registry.get();
      started = true;
    }
  }

  if (exit_code == 0) {
    wait_for_stop(signals, [&] {
      if (!postgres) return true;
      auto exited = postgres->check_exited();
      if (!exited) return true;
      app_log.error(
          "the managed PostgreSQL {}; stopping rather than serving without a database (log: {}/log/postgres.log)",
          *exited, lock->path());
      exit_code = 1;
      return false;
    });
  }

  // The broker first: it wakes parked fetches and produces and syncs, so the listeners' drain
  // does not wait out long-polls.
  registry_serving = nullptr;
  started = false;
  if (processors) processors->stop();
  if (gateway) gateway->stop();
  gateway.reset();
  gateway_sink.reset();
  if (web) web->stop();
  if (api) api->stop();
  if (outbox) outbox->stop();
  if (realtime_source) realtime_source->stop();
  if (registry) registry->stop();
  if (kafka) kafka->stop();
  admin.stop();
  pool.stop();
  // No request runs any more: the Auth service closes its database connections before the
  // managed PostgreSQL stops.
  api.reset();
  auth_service.reset();
  if (postgres) postgres->stop();
  app_log.info("substrate stopped", {{"exit_code", exit_code}});
  return exit_code;
}

}  // namespace substrate::app
