#include "app/processors_role.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/logger.h"
#include "app/signals.h"
#include "app/version.h"
#include "db/connection.h"
#include "db/migrations.h"
#include "domains/platform_processors.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"
#include "schema/kafka_store.h"
#include "schema/registry.h"
#include "schema/topic_admin.h"
#include "stream/errc.h"
#include "stream/processor.h"

namespace substrate::app {

struct processors_role::impl {
  const core::config& cfg;
  std::string bootstrap;
  std::string conninfo;
  stream::probe probe;
  std::vector<stream::processor_definition> definitions;
  schema::registry* registry = nullptr;
  // When replaying the registry topic here.
  std::unique_ptr<schema::registry> own_registry;
  std::unique_ptr<schema::kafka_store> own_store;
  std::unique_ptr<stream::schema_id_decoder> decoder;
  std::mutex misses_mutex;
  std::map<std::int32_t, std::chrono::steady_clock::time_point> first_miss;
  std::vector<std::unique_ptr<stream::processor>> running;

  impl(const core::config& c, std::string b, std::string ci, core::metrics_registry& metrics)
      : cfg(c), bootstrap(std::move(b)), conninfo(std::move(ci)), probe(metrics) {}

  std::map<std::string, std::string> kafka_properties() const {
    if (cfg.processors.kafka_sasl_mechanism.empty()) return {};
    return {{"security.protocol", "SASL_PLAINTEXT"},
            {"sasl.mechanisms", cfg.processors.kafka_sasl_mechanism},
            {"sasl.username", cfg.processors.kafka_sasl_username},
            {"sasl.password", cfg.processors.kafka_sasl_password}};
  }

  // The schema text of `id` from the registry. An id the registry does not know yet is transient
  // for processors.unknown_schema_retry_ms (its reader may be behind), then permanent.
  result<std::string> fetch(std::int32_t id) {
    auto answer = registry->schema_by_id(std::to_string(id));
    if (const auto* body = std::get_if<nlohmann::json>(&answer)) {
      if (body->contains("schema") && (*body)["schema"].is_string()) return (*body)["schema"].get<std::string>();
    }
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(misses_mutex);
    const auto [it, inserted] = first_miss.emplace(id, now);
    if (now - it->second < std::chrono::milliseconds(cfg.processors.unknown_schema_retry_ms)) {
      return make_error(stream::errc::unavailable, fmt::format("schema id {} not (yet) in the registry", id));
    }
    return make_error(stream::errc::decode_failed, fmt::format("schema id {} is not in the registry", id));
  }
};

processors_role::processors_role(const core::config& cfg, std::string bootstrap, std::string conninfo,
                                 core::metrics_registry& metrics, std::vector<std::string> only,
                                 schema::registry* registry)
    : impl_(std::make_unique<impl>(cfg, std::move(bootstrap), std::move(conninfo), metrics)) {
  const auto all = domains::platform_processors();
  std::set<std::string> wanted(only.begin(), only.end());
  for (const auto& name : wanted) {
    bool known = false;
    for (const auto& d : all) known = known || d.name == name;
    if (!known) {
      std::string names;
      for (const auto& d : all) names += (names.empty() ? "" : ", ") + d.name;
      throw std::invalid_argument(fmt::format("unknown processor '{}' (known: {})", name, names));
    }
  }
  for (const auto& d : all) {
    if (wanted.empty() || wanted.contains(d.name)) impl_->definitions.push_back(d);
  }
  impl_->registry = registry;
}

processors_role::~processors_role() {
  stop();
}

void processors_role::start() {
  auto& i = *impl_;
  if (!i.registry) {
    i.own_registry = std::make_unique<schema::registry>();
    schema::client_settings settings;
    for (const auto& [k, v] : i.kafka_properties()) settings.emplace_back(k, v);
    i.own_store = std::make_unique<schema::kafka_store>(
        *i.own_registry,
        schema::kafka_store_options{i.bootstrap, i.cfg.registry.topic, i.cfg.registry.timeout_ms, settings});
    i.own_registry->set_store(*i.own_store);
    i.own_store->start();
    i.registry = i.own_registry.get();
  }
  // The dead-letter topics (<input>.dlq) exist before the first poison record, with the
  // provisioned partition count, also on clusters that do not create topics on first use.
  // Existing ones are left as they are; a failure (e.g. no permission to create topics) only
  // warns: dead letters then rely on the cluster's auto-creation.
  {
    std::vector<schema::topic_spec> dead_letter_topics;
    std::set<std::string> seen;
    for (const auto& d : i.definitions) {
      for (const auto& [topic, handler] : d.handlers) {
        if (seen.insert(topic).second) {
          schema::topic_spec spec;
          spec.name = topic + ".dlq";
          spec.partitions = static_cast<std::int32_t>(i.cfg.provision.partitions);
          spec.cleanup_policy = "delete";
          dead_letter_topics.push_back(std::move(spec));
        }
      }
    }
    schema::client_settings settings;
    for (const auto& [k, v] : i.kafka_properties()) settings.emplace_back(k, v);
    try {
      const auto report = schema::create_topics(i.bootstrap, dead_letter_topics, i.cfg.registry.timeout_ms, settings);
      app_log.info("dead-letter topics provisioned", {{"created", static_cast<std::int64_t>(report.created.size())},
                                                      {"existing", static_cast<std::int64_t>(report.existing.size())}});
    } catch (const std::exception& e) {
      app_log.warn("cannot provision the dead-letter topics, relying on auto-creation: {}", e.what());
    }
  }
  i.decoder = std::make_unique<stream::schema_id_decoder>([&i](std::int32_t id) { return i.fetch(id); });
  for (const auto& d : i.definitions) {
    stream::runtime_options options;
    options.bootstrap = i.bootstrap;
    options.kafka_properties = i.kafka_properties();
    options.conninfo = i.conninfo;
    options.connect_timeout_ms = static_cast<int>(i.cfg.database.connect_timeout_ms);
    options.decode = i.decoder->as_decoder();
    options.batch_records_max = static_cast<std::size_t>(i.cfg.processors.batch_records_max);
    options.retry_backoff_max_ms = static_cast<int>(i.cfg.processors.retry_backoff_max_ms);
    const auto session_ms = i.cfg.processors.session_timeout_ms;
    options.consumer_properties = {
        {"session.timeout.ms", std::to_string(session_ms)},
        {"heartbeat.interval.ms", std::to_string(std::max<std::int64_t>(session_ms / 10, 100))}};
    i.running.push_back(std::make_unique<stream::processor>(d, std::move(options), i.probe));
    i.running.back()->start();
  }
  app_log.info("stream processors started", {{"processors", summary()}, {"kafka", i.bootstrap}});
}

void processors_role::stop() {
  auto& i = *impl_;
  for (auto& p : i.running) p->stop();
  i.running.clear();
  if (i.own_store) i.own_store->stop();
}

std::string processors_role::summary() const {
  std::string out;
  for (const auto& d : impl_->definitions) out += (out.empty() ? "" : ", ") + d.name;
  return out;
}

std::string processors_bootstrap(const core::config& cfg, const std::string& builtin_broker) {
  if (!cfg.processors.kafka_bootstrap.empty()) return cfg.processors.kafka_bootstrap;
  if (!builtin_broker.empty()) return builtin_broker;
  return fmt::format("{}:{}", cfg.kafka.listen_address, cfg.kafka.port);
}

int run_processors(const core::config& cfg, const std::vector<std::string>& only) {
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  if (cfg.database.url.empty()) {
    std::fprintf(stderr,
                 "substrate: processors need database.url (SUBSTRATE_DATABASE_URL), e.g. DATABASE_URL of a running "
                 "`substrate up` (its substrate.env)\n");
    return 1;
  }
  const std::string bootstrap = processors_bootstrap(cfg, "");
  app_log.info("substrate processors starting", {{"version", version}, {"kafka", bootstrap}});
  core::metrics_registry metrics;
  core::register_process_metrics(metrics, version);
  net::http_metrics http_metrics(metrics);
  std::unique_ptr<processors_role> role;
  try {
    role = std::make_unique<processors_role>(cfg, bootstrap, cfg.database.url, metrics, only, nullptr);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "substrate: %s\n", e.what());
    return 2;
  }
  net::io_pool pool(static_cast<std::size_t>(cfg.http.shards), static_cast<std::size_t>(cfg.blocking_threads));
  net::readiness ready;
  const std::string conninfo = cfg.database.url;
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
  int exit_code = 0;
  pool.start();
  try {
    admin.start();
    // The runtime's tables (migration 0006) must exist; applying is idempotent and serialised.
    auto connection = db::connection::open(conninfo, static_cast<int>(cfg.database.connect_timeout_ms));
    if (!connection) throw std::runtime_error(connection.error().message());
    auto report = db::apply_migrations(*connection, db::embedded_migrations());
    if (!report) throw std::runtime_error(report.error().message());
    role->start();
  } catch (const std::exception& e) {
    app_log.error("start-up failed: {}", e.what());
    exit_code = 1;
  }
  if (exit_code == 0) {
    std::string banner = fmt::format("\nsubstrate {} processors are up\n", version);
    banner +=
        fmt::format("  admin      http://{}:{}  (/metrics /healthz /readyz)\n", cfg.admin.listen_address, admin.port());
    banner += fmt::format("  processors {}  (on {})\n", role->summary(), bootstrap);
    banner += "Ctrl-C stops.\n\n";
    std::fputs(banner.c_str(), stdout);
    std::fflush(stdout);
    wait_for_stop(signals);
  }
  role->stop();
  admin.stop();
  pool.stop();
  app_log.info("substrate processors stopped", {{"exit_code", exit_code}});
  return exit_code;
}

}  // namespace substrate::app
