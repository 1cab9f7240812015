#include "app/bus_settings.h"

#include <fmt/format.h>

#include "schema/provision.h"

namespace substrate::app {

bus::kafka_connection bus_connection(const core::config& cfg, const std::string& builtin_broker) {
  bus::kafka_connection c;
  if (!cfg.bus.kafka_bootstrap.empty()) {
    c.bootstrap = cfg.bus.kafka_bootstrap;
  } else if (!cfg.registry.kafka_bootstrap.empty()) {
    c.bootstrap = cfg.registry.kafka_bootstrap;
  } else if (!builtin_broker.empty()) {
    c.bootstrap = builtin_broker;
  } else {
    c.bootstrap = fmt::format("{}:{}", cfg.kafka.listen_address, cfg.kafka.port);
  }
  if (!cfg.bus.kafka_sasl_mechanism.empty()) {
    c.sasl_mechanism = cfg.bus.kafka_sasl_mechanism;
    c.sasl_username = cfg.bus.kafka_sasl_username;
    c.sasl_password = cfg.bus.kafka_sasl_password;
  } else if (!cfg.registry.kafka_sasl_mechanism.empty()) {
    c.sasl_mechanism = cfg.registry.kafka_sasl_mechanism;
    c.sasl_username = cfg.registry.kafka_sasl_username;
    c.sasl_password = cfg.registry.kafka_sasl_password;
  }
  return c;
}

bus::registry_client_options bus_registry(const core::config& cfg, const std::string& builtin_registry_url) {
  bus::registry_client_options o;
  if (!cfg.bus.registry_url.empty()) {
    o.url = cfg.bus.registry_url;
  } else if (!builtin_registry_url.empty()) {
    o.url = builtin_registry_url;
  } else {
    o.url = fmt::format("http://{}:{}", cfg.registry.listen_address, cfg.registry.port);
  }
  o.username = cfg.bus.registry_username;
  o.password = cfg.bus.registry_password;
  o.timeout_ms = cfg.bus.registry_timeout_ms;
  return o;
}

bus::serializer_options bus_serializer_options() {
  bus::serializer_options o;
  for (const auto& s : schema::embedded_schemas()) o.local_schemas.emplace(s.topic, s.text);
  return o;
}

}  // namespace substrate::app
