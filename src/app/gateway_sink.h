#pragma once
// The gateway's event sink on the bus library: bus::avro_serializer (the embedded schema of the
// topic with the id the registry has for `<topic>-value`, else the latest registered version;
// cached per topic) and bus::producer (librdkafka, acks=all, idempotent), both connected as
// bus.* says (app/bus_settings.h). Failures are mapped to the gateway's contract
// (gateway/event_sink.h): registry or broker unreachable -> errc::unavailable (503); the JSON
// not fitting the schema -> the Avro library's error (400); anything else as it is (500).
//
// Threading: gateway::event_sink's contract. Lifecycle: construct (throws std::runtime_error on
// a configuration librdkafka rejects; connects lazily), use, destroy after the gateway listener
// stopped (the producer waits for records in flight, then fails the rest).

#include <memory>
#include <string>

#include "core/config.h"
#include "gateway/event_sink.h"

namespace substrate::app {

// `builtin_broker` / `builtin_registry_url`: the addresses of `up`'s own broker and registry
// (empty for `substrate gateway`, which uses bus.* or the configured kafka.* / registry.*).
[[nodiscard]] std::unique_ptr<gateway::event_sink> make_gateway_sink(const core::config& cfg,
                                                                     const std::string& builtin_broker,
                                                                     const std::string& builtin_registry_url);

}  // namespace substrate::app
