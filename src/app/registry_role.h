#pragma once
// The schema registry as a role of a substrate process: the registry state, its `_schemas`
// store on a Kafka cluster (the built-in broker or any other) and its HTTP listener.
// `substrate up` and `substrate registry` both run it through this class.
//
// Lifecycle: construct (no I/O), start() after pool.start() and after the broker it uses is up
// (creates `_schemas` if missing, reads it to the end, then binds; throws std::runtime_error
// naming the problem), stop() before pool.stop(). Main thread only; problem() from any thread.

#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "schema/topic_admin.h"

namespace substrate::net {
class io_pool;
struct http_metrics;
}  // namespace substrate::net

namespace substrate::schema {
class registry;
}

namespace substrate::app {

class registry_role {
public:
  // `bootstrap`: the Kafka cluster holding the registry's topic.
  registry_role(net::io_pool& pool, const core::config& cfg, std::string bootstrap, net::http_metrics& http_metrics);
  ~registry_role();
  registry_role(const registry_role&) = delete;
  registry_role& operator=(const registry_role&) = delete;

  void start();
  void stop();
  // http://host:port once started.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] const std::string& bootstrap() const;
  [[nodiscard]] schema::registry& registry();
  // Nothing when serving from a caught-up state, else what is wrong (for /readyz).
  [[nodiscard]] std::optional<std::string> problem() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// Provisioning (schema/provision.h) on `bootstrap` through `registry`: creates the topics,
// registers the schemas, logs what it did. Throws std::runtime_error naming the topic or subject.
void provision(const core::config& cfg, const std::string& bootstrap, schema::registry& registry);

// librdkafka settings of the registry's clients (SASL from registry.kafka_sasl_*).
[[nodiscard]] schema::client_settings registry_client_settings(const core::config& cfg);

// The registry's Kafka bootstrap: registry.kafka_bootstrap, else the built-in broker's address.
[[nodiscard]] std::string registry_bootstrap(const core::config& cfg, const std::string& builtin_broker);

}  // namespace substrate::app
