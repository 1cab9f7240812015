#pragma once
// The stream processors as a role of a substrate process (issue 7): the platform processors of
// domains/platform_processors.h (all, or those named by --only) on the stream runtime, decoding
// by schema id through a schema registry. `substrate up` passes its in-process registry;
// `substrate processors` replays `registry.topic` of its Kafka cluster itself (read-only).
//
// Lifecycle: construct (validates the names, no I/O), start() once the broker, the registry and
// the migrations are up (throws std::runtime_error naming the problem), stop() (idempotent,
// leaves the groups, joins). Main thread only.

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/metrics.h"

namespace substrate::schema {
class registry;
}

namespace substrate::app {

class processors_role {
public:
  // `registry`: the process's registry, or null to replay the registry topic here.
  processors_role(const core::config& cfg, std::string bootstrap, std::string conninfo, core::metrics_registry& metrics,
                  std::vector<std::string> only, schema::registry* registry);
  ~processors_role();
  processors_role(const processors_role&) = delete;
  processors_role& operator=(const processors_role&) = delete;

  void start();
  void stop();
  // "identity-login, identity-signup, ..." for the banner.
  [[nodiscard]] std::string summary() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// The processors' Kafka bootstrap: processors.kafka_bootstrap, else the built-in broker's
// address, else kafka.listen_address:kafka.port.
[[nodiscard]] std::string processors_bootstrap(const core::config& cfg, const std::string& builtin_broker);

// `substrate processors [--only NAME...]`: the processors alone against database.url and the
// Kafka cluster of processors.kafka_bootstrap, with the admin listener (/metrics /healthz
// /readyz). Run several for scale-out: they share the consumer groups. Returns 0 after an
// orderly stop, 1 when start-up failed, 2 for an unknown processor name.
int run_processors(const core::config& cfg, const std::vector<std::string>& only);

}  // namespace substrate::app
