#pragma once
#include "core/config.h"

namespace substrate::app {

// `substrate registry`: the schema registry alone (I/O threads, the admin listener with /metrics
// /healthz /readyz, the registry listener), its state in `registry.topic` on
// `registry.kafka_bootstrap` (default: kafka.listen_address:kafka.port, e.g. a `substrate
// broker` or any Kafka cluster). No data dir, no PostgreSQL. In the foreground until SIGINT or
// SIGTERM; returns 0 after an orderly stop, 1 when start-up failed.
int run_registry(const core::config& cfg);

}  // namespace substrate::app
