#include "stream/decoder.h"

#include <fmt/format.h>

#include "avro/confluent.h"
#include "avro/json_decoder.h"
#include "stream/errc.h"

namespace substrate::stream {

result<std::shared_ptr<const avro::schema>> schema_id_decoder::schema_for(std::int32_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  }
  auto text = fetch_(id);
  if (!text) return tl::unexpected(text.error());
  auto parsed = avro::schema::parse(*text);
  if (!parsed) {
    return make_error(errc::decode_failed,
                      fmt::format("schema id {} does not parse: {}", id, parsed.error().message()));
  }
  auto shared = std::make_shared<const avro::schema>(std::move(*parsed));
  std::lock_guard lock(mutex_);
  return cache_.emplace(id, std::move(shared)).first->second;
}

result<std::string> schema_id_decoder::decode(std::span<const std::uint8_t> value) {
  auto frame = avro::parse_confluent_frame(value);
  if (!frame) return make_error(errc::decode_failed, frame.error().message());
  auto schema = schema_for(frame->schema_id);
  if (!schema) return tl::unexpected(schema.error());
  std::string json;
  if (auto decoded = avro::decode_json(**schema, frame->body, json); !decoded) {
    return make_error(errc::decode_failed, fmt::format("value does not match schema id {}: {}", frame->schema_id,
                                                       decoded.error().message()));
  }
  return json;
}

decoder schema_id_decoder::as_decoder() {
  return [this](std::string_view, std::span<const std::uint8_t> value) { return decode(value); };
}

}  // namespace substrate::stream
