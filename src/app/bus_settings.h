#pragma once
// How the process's services reach the bus, from the configuration (bus.*, falling back to
// registry.* and the built-in broker): shared by `substrate events`, the outbox relay in `up`,
// and every service that produces.

#include <string>

#include "bus/avro_serializer.h"
#include "bus/kafka_config.h"
#include "bus/registry_client.h"
#include "core/config.h"

namespace substrate::app {

// bus.kafka_bootstrap, else registry.kafka_bootstrap, else `builtin_broker` when given, else
// kafka.listen_address:kafka.port; SASL from bus.kafka_sasl_*, else registry.kafka_sasl_*.
[[nodiscard]] bus::kafka_connection bus_connection(const core::config& cfg, const std::string& builtin_broker = "");

// bus.registry_url, else `builtin_registry_url` when given, else
// http://registry.listen_address:registry.port.
[[nodiscard]] bus::registry_client_options bus_registry(const core::config& cfg,
                                                        const std::string& builtin_registry_url = "");

// The embedded schemas/**/*.avsc as the serializer's local schemas (topic -> schema text).
[[nodiscard]] bus::serializer_options bus_serializer_options();

}  // namespace substrate::app
