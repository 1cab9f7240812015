#pragma once
// Decoding of Confluent-framed Avro values (contracts.md 0.2) by the writer schema named in the
// frame, into JSON text (nullable unions as null or the plain value).
//
// `schema_id_decoder` caches parsed schemas by id and asks `fetch` for the text of an id it has
// not seen: the in-process registry in `substrate up`, a registry client elsewhere, a fixed map
// in tests. Errors: errc::decode_failed (bad framing, unknown id, bytes that do not match the
// schema: permanent for the record) or errc::unavailable (fetch could not reach the registry:
// transient, the runtime retries).
//
// Threading: thread-safe (a mutex around the cache; decoding itself runs outside it).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "avro/schema.h"
#include "core/result.h"

namespace substrate::stream {

// topic, framed value -> JSON text of the value.
using decoder = std::function<result<std::string>(std::string_view topic, std::span<const std::uint8_t> value)>;

class schema_id_decoder {
public:
  // Returns the schema text for an id; an error with errc::decode_failed when the id does not
  // exist, errc::unavailable when the registry cannot be asked now.
  using fetch_function = std::function<result<std::string>(std::int32_t id)>;

  explicit schema_id_decoder(fetch_function fetch) : fetch_(std::move(fetch)) {}

  [[nodiscard]] result<std::string> decode(std::span<const std::uint8_t> value);

  // A `decoder` that calls this object (which must outlive it).
  [[nodiscard]] decoder as_decoder();

private:
  [[nodiscard]] result<std::shared_ptr<const avro::schema>> schema_for(std::int32_t id);

  fetch_function fetch_;
  std::mutex mutex_;
  std::map<std::int32_t, std::shared_ptr<const avro::schema>> cache_;
};

}  // namespace substrate::stream
