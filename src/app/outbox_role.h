#pragma once
// The transactional outbox relay as a role of `substrate up` (bus/outbox_relay.h): its own
// registry client, serializer (the embedded schemas) and idempotent producer, relaying
// substrate.outbox of the process's database to the bus.
//
// Lifecycle: construct after provisioning (no I/O; throws std::runtime_error on a Kafka client
// configuration librdkafka rejects), start() (returns at once; the relay connects, takes the
// database's relay lock or stands by), stop() before the registry and the broker stop (it
// finishes the round in flight). Main thread only.

#include <memory>
#include <string>

#include "core/config.h"
#include "core/metrics.h"

namespace substrate::app {

class outbox_role {
public:
  // `builtin_broker` / `registry_url`: the in-process broker's address and registry's URL (used
  // unless bus.kafka_bootstrap / bus.registry_url name others).
  outbox_role(const core::config& cfg, std::string conninfo, const std::string& builtin_broker,
              const std::string& registry_url, core::metrics_registry& metrics);
  ~outbox_role();
  outbox_role(const outbox_role&) = delete;
  outbox_role& operator=(const outbox_role&) = delete;

  void start();
  void stop();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::app
