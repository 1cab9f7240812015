#pragma once
// The gateway's event sink inside `substrate up`: the in-process schema registry (latest
// version of `<topic>-value`, cached per topic as the reference does) and a librdkafka producer
// with acks=all and idempotence. A stand-in until the bus library's avro_serializer and
// producer are on main; then both `up` and `substrate gateway` use those (see the gateway
// README, "What remains").
//
// Threading: gateway::event_sink's contract. Lifecycle: construct (throws std::runtime_error
// on a configuration librdkafka rejects), use, destroy after the gateway listener stopped (the
// destructor waits up to 5 s for records in flight, then fails the rest).

#include <memory>
#include <string>

#include "core/config.h"
#include "gateway/event_sink.h"
#include "schema/topic_admin.h"

namespace substrate::schema {
class registry;
}

namespace substrate::app {

[[nodiscard]] std::unique_ptr<gateway::event_sink> make_local_gateway_sink(const core::config& cfg,
                                                                           const std::string& bootstrap,
                                                                           schema::registry& registry,
                                                                           const schema::client_settings& settings);

}  // namespace substrate::app
