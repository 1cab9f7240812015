#pragma once
#include "core/config.h"

namespace substrate::app {

// `substrate broker`: the Kafka broker alone (data-dir lock, I/O threads, the admin listener
// with /metrics /healthz /readyz, the Kafka listener; no PostgreSQL), in the foreground until
// SIGINT or SIGTERM. Returns 0 after an orderly stop, 1 when start-up failed.
int run_broker(const core::config& cfg);

}  // namespace substrate::app
