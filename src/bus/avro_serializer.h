#pragma once
// JSON <-> Confluent-framed Avro for the platform's topics (contracts.md 0.2).
//
// encode(topic, json): the value schema of a topic is its local schema when the caller gave one
// (the embedded schemas/**/*.avsc: `substrate` writes exactly the schemas it ships) with the id
// the registry has for it under `<topic>-value` (registered when missing and register_missing),
// else the latest version of `<topic>-value`. Resolved once per topic and cached for the life of
// the serializer (contracts.md 0.2: the reference never refreshes either). The JSON is encoded
// with avro::json_encoder; its errors pass through unchanged (avro::errc, the context starting
// with the JSON path: `$.user_id: expected string, got number 42`), so edges map them to 400.
//
// decode(value): the writer schema is fetched by the id in the frame (cached by the registry
// client); with a reader schema the datum is resolved to it (Avro resolution rules), else it is
// rendered with the writer schema. Nullable unions come out plain (union_style::nullable_plain).
//
// Threading: any thread (caches behind a mutex, one json_encoder per concurrent call). Blocks on
// the registry for the first use of a topic or id: call from the blocking pool, not a shard.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "avro/json_decoder.h"
#include "avro/json_encoder.h"
#include "avro/resolver.h"
#include "avro/schema.h"
#include "bus/registry_client.h"
#include "core/result.h"

namespace substrate::bus {

struct serializer_options {
  // topic -> the Avro schema text the producer writes that topic with.
  std::map<std::string, std::string, std::less<>> local_schemas;
  // Register a local schema under `<topic>-value` when the registry does not have it yet.
  bool register_missing = true;
  avro::encode_options encode;
};

struct topic_schema {
  std::int32_t id = 0;
  std::shared_ptr<const avro::schema> schema;
};

struct decoded_value {
  std::int32_t schema_id = 0;
  std::string json;
};

class avro_serializer {
public:
  // Throws std::invalid_argument naming the topic when a local schema does not parse.
  avro_serializer(registry_client& registry, serializer_options options);
  ~avro_serializer();
  avro_serializer(const avro_serializer&) = delete;
  avro_serializer& operator=(const avro_serializer&) = delete;

  // The value schema and its id for `topic` (see above).
  [[nodiscard]] result<topic_schema> schema_for(std::string_view topic);

  // True when the schema of `topic` is resolved, so encode(topic, ...) does not ask the registry
  // and can run on a shard (it is a few microseconds of CPU then).
  [[nodiscard]] bool resolved(std::string_view topic);

  // Confluent header + Avro datum of the JSON document.
  [[nodiscard]] result<std::string> encode(std::string_view topic, std::string_view json);

  [[nodiscard]] result<decoded_value> decode(std::span<const std::uint8_t> value,
                                             std::shared_ptr<const avro::schema> reader = nullptr,
                                             const avro::decode_options& options = {});

  [[nodiscard]] registry_client& registry() { return registry_; }

private:
  registry_client& registry_;
  serializer_options options_;
  std::map<std::string, std::shared_ptr<const avro::schema>, std::less<>> local_;  // parsed local schemas

  std::mutex mutex_;
  std::map<std::string, topic_schema, std::less<>> topics_;
  std::map<std::pair<std::int32_t, const avro::schema*>, std::shared_ptr<const avro::resolver>> resolvers_;
  std::vector<std::unique_ptr<avro::json_encoder>> idle_encoders_;
};

}  // namespace substrate::bus
