#pragma once
// The gateway's event sink on the bus library: bus::avro_serializer (the embedded schema of the
// topic with the id the registry has for `<topic>-value`, else the latest registered version;
// cached per topic) and bus::producer (librdkafka, acks=all, idempotent), both connected as
// bus.* says (app/bus_settings.h). Failures are mapped to the gateway's contract
// (gateway/event_sink.h): registry or broker unreachable -> errc::unavailable (503); the JSON
// not fitting the schema -> the Avro library's error (400); anything else as it is (500).
// With the broker in the same process (`up`), records are appended to it directly instead
// (in_process_broker below): its disk failing or it stopping -> unavailable (503).
//
// Threading: gateway::event_sink's contract. Lifecycle: construct (throws std::runtime_error on
// a configuration librdkafka rejects; connects lazily), use, destroy after the gateway listener
// stopped (the producer waits for records in flight, then fails the rest). After a fatal error
// of the idempotent producer (librdkafka refuses every record from then on), the sink creates a
// new producer: the record that met the error is answered 500, the next ones go through.

#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "gateway/event_sink.h"

namespace substrate::net {
class io_pool;
}
namespace substrate::kafka {
class broker;
}

namespace substrate::app {

// The broker of this process, when the gateway's records go to it (`up` with the built-in
// broker and gateway.in_process_broker): records are appended through kafka::local_producer,
// with acks=all durability, instead of through librdkafka and a loopback socket.
struct in_process_broker {
  net::io_pool* pool = nullptr;
  kafka::broker* broker = nullptr;
};

// `builtin_broker` / `builtin_registry_url`: the addresses of `up`'s own broker and registry
// (empty for `substrate gateway`, which uses bus.* or the configured kafka.* / registry.*).
[[nodiscard]] std::unique_ptr<gateway::event_sink> make_gateway_sink(const core::config& cfg,
                                                                     const std::string& builtin_broker,
                                                                     const std::string& builtin_registry_url,
                                                                     const in_process_broker& local = {});

// Puts the sink's current producer in librdkafka's fatal error state (bus::producer::
// fail_for_testing); the sink then replaces it at the next record. For tests only.
void fail_gateway_producer_for_testing(gateway::event_sink& sink, std::string_view reason);

}  // namespace substrate::app
