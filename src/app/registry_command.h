#pragma once
#include "core/config.h"

namespace substrate::app {

// `substrate registry`: the schema registry alone (I/O threads, the admin listener with /metrics
// /healthz /readyz, the registry listener), its state in `registry.topic` on
// `registry.kafka_bootstrap` (default: kafka.listen_address:kafka.port, e.g. a `substrate
// broker` or any Kafka cluster). No data dir, no PostgreSQL. In the foreground until SIGINT or
// SIGTERM; returns 0 after an orderly stop, 1 when start-up failed.
int run_registry(const core::config& cfg);

// `substrate provision`: create the platform's topics and register their schemas (contracts.md
// 1.1; schema/provision.h) on the Kafka cluster of registry.kafka_bootstrap (default
// kafka.listen_address:kafka.port), writing to its `_schemas` directly, as a registry would, so
// registries serving that cluster see the result. Idempotent. Returns 0 when everything is in
// place, 1 with the topic or subject and the reason otherwise.
int run_provision(const core::config& cfg);

}  // namespace substrate::app
