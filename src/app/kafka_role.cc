#include "app/kafka_role.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/logger.h"
#include "kafka/broker/broker.h"
#include "kafka/security/acl.h"
#include "kafka/security/paths.h"
#include "kafka/security/user_store.h"
#include "kafka/server/kafka_server.h"
#include "net/io_pool.h"

namespace substrate::app {

struct kafka_role::impl {
  std::string host;
  std::string summary = "no authentication";
  std::unique_ptr<kafka::kafka_metrics> metrics;
  std::unique_ptr<kafka::broker> broker;
  std::unique_ptr<kafka::kafka_server> listener;
};

kafka_role::kafka_role(net::io_pool& pool, const core::config& cfg, const std::string& data_dir,
                       core::metrics_registry& metrics)
    : impl_(std::make_unique<impl>()) {
  const auto& k = cfg.kafka;
  impl_->host = k.advertised_host.empty() ? k.listen_address : k.advertised_host;
  kafka::broker_config broker_options;
  broker_options.data_dir = data_dir + "/kafka";
  broker_options.advertised_host = impl_->host;
  broker_options.advertised_port = static_cast<std::uint16_t>(k.port);
  broker_options.auto_create_topics = k.auto_create_topics;
  broker_options.default_partitions = static_cast<std::int32_t>(k.default_partitions);
  broker_options.default_topic.segment_bytes = k.segment_bytes;
  broker_options.default_topic.retention_ms = k.retention_ms;
  broker_options.default_topic.retention_bytes = k.retention_bytes;
  broker_options.group_initial_rebalance_delay_ms = k.group_initial_rebalance_delay_ms;

  kafka::kafka_server_options listen;
  listen.address = k.listen_address;
  listen.port = static_cast<std::uint16_t>(k.port);
  listen.frame_bytes_max = static_cast<std::int32_t>(k.frame_bytes_max);
  listen.idle_timeout_ms = k.idle_timeout_ms;
  listen.connections_max = cfg.http.connections_max;
  listen.shutdown_grace_ms = cfg.http.shutdown_grace_ms;

  std::vector<std::string> parts;
  if (k.sasl.enabled) {
    listen.sasl.enabled = true;
    listen.sasl.mechanisms.clear();
    for (const auto& name : k.sasl.mechanisms) {
      if (auto m = kafka::security::parse_mechanism(name)) listen.sasl.mechanisms.push_back(*m);
    }
    listen.sasl.users = std::make_shared<kafka::security::user_store>(kafka::security::users_file(data_dir));
    if (auto loaded = listen.sasl.users->load(); !loaded) {
      throw std::runtime_error(fmt::format("Kafka SASL users: {}", loaded.error().message()));
    }
    if (auto users = kafka::security::load_users(listen.sasl.users->file()); users && users->empty()) {
      app_log.warn(
          "kafka.sasl.enabled but there are no users yet: no client can log in until "
          "`substrate kafka user add NAME` creates one (the broker picks it up without a restart)");
    }
    parts.push_back(fmt::format("SASL {}", fmt::join(k.sasl.mechanisms, ",")));
  }
  if (k.authorization.enabled) {
    if (!k.sasl.enabled) {
      app_log.warn("kafka.authorization.enabled without kafka.sasl.enabled: every client is User:ANONYMOUS");
    }
    broker_options.authorizer = std::make_shared<kafka::security::authorizer>(
        kafka::security::authorizer_config{kafka::security::acl_file(data_dir), k.authorization.super_users});
    parts.push_back("ACLs on");
  }
  if (!parts.empty()) impl_->summary = fmt::format("{}", fmt::join(parts, ", "));

  impl_->metrics = std::make_unique<kafka::kafka_metrics>(metrics);
  impl_->broker = std::make_unique<kafka::broker>(pool, broker_options, metrics);
  impl_->listener = std::make_unique<kafka::kafka_server>(pool, listen, *impl_->broker, *impl_->metrics);
}

kafka_role::~kafka_role() = default;

void kafka_role::start() {
  impl_->listener->start();
  impl_->broker->set_advertised_port(impl_->listener->port());
}

void kafka_role::stop() {
  impl_->broker->stop();
  impl_->listener->stop();
}

std::string kafka_role::address() const {
  return fmt::format("{}:{}", impl_->host, impl_->listener->port());
}

std::string kafka_role::security_summary() const {
  return impl_->summary;
}

kafka::broker& kafka_role::broker() {
  return *impl_->broker;
}

}  // namespace substrate::app
