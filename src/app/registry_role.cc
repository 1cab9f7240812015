#include "app/registry_role.h"

#include <atomic>

#include <fmt/format.h>

#include "app/logger.h"
#include "kafka/security/paths.h"
#include "kafka/security/user_store.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "schema/kafka_store.h"
#include "schema/provision.h"
#include "schema/registry.h"
#include "schema/rest_api.h"

namespace substrate::app {

struct registry_role::impl {
  net::io_pool& pool;
  const core::config& cfg;
  std::string bootstrap;
  schema::registry registry;
  schema::kafka_store store;
  std::unique_ptr<kafka::security::user_store> users;
  schema::rest_api api;
  std::unique_ptr<net::http_server> server;
  std::atomic<bool> started{false};

  impl(net::io_pool& p, const core::config& c, std::string b, net::http_metrics& metrics)
      : pool(p),
        cfg(c),
        bootstrap(std::move(b)),
        store(registry, {bootstrap, c.registry.topic, c.registry.timeout_ms, registry_client_settings(c)}),
        users(c.registry.basic_auth
                  ? std::make_unique<kafka::security::user_store>(kafka::security::users_file(c.data_dir))
                  : nullptr),
        api(registry,
            users ? schema::authenticator([store = users.get()](const std::string& user, const std::string& password) {
              const auto credential = store->find(user);
              return credential && kafka::security::verify_password(*credential, password);
            })
                  : schema::authenticator{}) {
    auto routes = std::make_shared<net::router>();
    schema::add_routes(*routes, api, pool.blocking());
    server = std::make_unique<net::http_server>(
        pool,
        net::http_server_options{"schema_registry", c.registry.listen_address,
                                 static_cast<std::uint16_t>(c.registry.port), c.http},
        routes, metrics);
  }
};

registry_role::registry_role(net::io_pool& pool, const core::config& cfg, std::string bootstrap,
                             net::http_metrics& http_metrics)
    : impl_(std::make_unique<impl>(pool, cfg, std::move(bootstrap), http_metrics)) {}

registry_role::~registry_role() = default;

void registry_role::start() {
  if (impl_->users) {
    if (auto loaded = impl_->users->load(); !loaded) {
      throw std::runtime_error(fmt::format("registry.basic_auth: {}", loaded.error().message()));
    }
  }
  impl_->store.start();
  impl_->server->start();
  impl_->started = true;
  app_log.info("schema registry serving", {{"url", url()}, {"kafka", impl_->bootstrap}});
}

void registry_role::stop() {
  if (impl_->started) impl_->server->stop();
  impl_->store.stop();
  impl_->started = false;
}

std::string registry_role::url() const {
  return fmt::format("http://{}:{}", impl_->cfg.registry.listen_address, impl_->server->port());
}

const std::string& registry_role::bootstrap() const {
  return impl_->bootstrap;
}

schema::registry& registry_role::registry() {
  return impl_->registry;
}

void provision(const core::config& cfg, const std::string& bootstrap, schema::registry& registry) {
  const auto& schemas = schema::embedded_schemas();
  schema::provision_options options{static_cast<std::int32_t>(cfg.provision.partitions), cfg.provision.cleanup_policy,
                                    cfg.provision.overrides};
  std::vector<schema::topic_spec> topics;
  try {
    topics = schema::topic_plan(schemas, options);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("provision.overrides: {}", e.what()));
  }
  const auto created = schema::create_topics(bootstrap, topics, cfg.registry.timeout_ms, registry_client_settings(cfg));
  const auto registered = schema::register_schemas(registry, schemas);
  app_log.info("provisioned topics and schemas",
               {{"topics_created", static_cast<std::int64_t>(created.created.size())},
                {"topics_existing", static_cast<std::int64_t>(created.existing.size())},
                {"schemas_registered", registered.registered},
                {"schemas_unchanged", registered.unchanged}});
}

std::optional<std::string> registry_role::problem() const {
  if (!impl_->started) return "schema registry: not serving yet";
  if (auto problem = impl_->store.problem()) return "schema registry: " + *problem;
  return std::nullopt;
}

schema::client_settings registry_client_settings(const core::config& cfg) {
  if (cfg.registry.kafka_sasl_mechanism.empty()) return {};
  return {{"security.protocol", "SASL_PLAINTEXT"},
          {"sasl.mechanisms", cfg.registry.kafka_sasl_mechanism},
          {"sasl.username", cfg.registry.kafka_sasl_username},
          {"sasl.password", cfg.registry.kafka_sasl_password}};
}

std::string registry_bootstrap(const core::config& cfg, const std::string& builtin_broker) {
  if (!cfg.registry.kafka_bootstrap.empty()) return cfg.registry.kafka_bootstrap;
  if (!builtin_broker.empty()) return builtin_broker;
  return fmt::format("{}:{}", cfg.kafka.listen_address, cfg.kafka.port);
}

}  // namespace substrate::app
