#pragma once
// Where accepted events go: the topic's registered Avro schema and a Kafka producer with
// acks=all (the bus library's avro_serializer and producer in production; see bus_sink.h).
// The HTTP side depends on this interface only, so the mapping of failures to statuses is one
// table (service.cc):
//   encode: avro::errc (the JSON does not fit the schema)            -> 400 naming field and type
//           gateway::errc::unavailable (registry not reachable)      -> 503
//           anything else (no schema for the topic ...)              -> 500
//   produce: gateway::errc::unavailable (no broker until the timeout) -> 503
//            anything else (refused by the broker)                   -> 500
//
// Threading: every method from any thread. encode() may block (registry on first use of a
// topic): call it on the blocking pool unless encode_blocks() said it will not. produce() never
// blocks; `done` runs exactly once, on any thread, after the broker acknowledged the record or
// it failed for good.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace substrate::gateway {

struct produced {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

using produce_callback = std::function<void(result<produced>)>;
using record_headers = std::vector<std::pair<std::string, std::string>>;

class event_sink {
public:
  virtual ~event_sink() = default;
  // The Confluent-framed Avro value of `json` for `topic` (its `<topic>-value` schema).
  [[nodiscard]] virtual result<std::string> encode(std::string_view topic, std::string_view json) = 0;
  // False when encode(topic, ...) is CPU only now (the topic's schema is known): the caller may
  // run it where it is instead of paying for a trip to the blocking pool.
  [[nodiscard]] virtual bool encode_blocks(std::string_view /*topic*/) { return true; }
  // Enqueues a value (null key, contracts.md 0.2); `done` as above.
  virtual void produce(std::string_view topic, std::string value, record_headers headers, produce_callback done) = 0;
  // Readiness: nothing when the broker and the registry answer, else what is wrong. May block
  // (bounded): the blocking pool calls it.
  [[nodiscard]] virtual std::optional<std::string> problem() = 0;
};

}  // namespace substrate::gateway
