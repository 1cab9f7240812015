#include "bus/avro_serializer.h"

#include <stdexcept>

#include <fmt/format.h>

#include "avro/confluent.h"
#include "bus/errc.h"

namespace substrate::bus {

avro_serializer::avro_serializer(registry_client& registry, serializer_options options)
    : registry_(registry), options_(std::move(options)) {
  for (const auto& [topic, text] : options_.local_schemas) {
    auto parsed = avro::schema::parse(text);
    if (!parsed) {
      throw std::invalid_argument(fmt::format("the schema of topic {}: {}", topic, parsed.error().message()));
    }
    local_.emplace(topic, std::make_shared<const avro::schema>(std::move(*parsed)));
  }
}

avro_serializer::~avro_serializer() = default;

result<topic_schema> avro_serializer::schema_for(std::string_view topic) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = topics_.find(topic); it != topics_.end()) return it->second;
  }
  const std::string subject = fmt::format("{}-value", topic);
  topic_schema found;
  if (auto local = local_.find(topic); local != local_.end()) {
    auto id = registry_.id_for(subject, *local->second, options_.register_missing);
    if (!id) return tl::unexpected(id.error());
    found = {*id, local->second};
  } else {
    auto latest = registry_.latest(subject);
    if (!latest) {
      if (latest.error().code == errc::subject_not_found) {
        return make_error(errc::no_schema_for_topic,
                          fmt::format("topic {}: no schema of its own and no subject {} in the registry ({})", topic,
                                      subject, latest.error().context));
      }
      return tl::unexpected(latest.error());
    }
    found = {latest->id, latest->schema};
  }
  std::lock_guard lock(mutex_);
  return topics_.try_emplace(std::string(topic), found).first->second;
}

bool avro_serializer::resolved(std::string_view topic) {
  std::lock_guard lock(mutex_);
  return topics_.find(topic) != topics_.end();
}

result<std::string> avro_serializer::encode(std::string_view topic, std::string_view json) {
  auto target = schema_for(topic);
  if (!target) return tl::unexpected(target.error());
  std::unique_ptr<avro::json_encoder> encoder;
  {
    std::lock_guard lock(mutex_);
    if (!idle_encoders_.empty()) {
      encoder = std::move(idle_encoders_.back());
      idle_encoders_.pop_back();
    }
  }
  if (!encoder) encoder = std::make_unique<avro::json_encoder>(options_.encode);
  std::string out;
  out.reserve(avro::confluent_header_bytes + json.size());
  avro::append_confluent_header(out, target->id);
  auto encoded = encoder->encode(*target->schema, json, out);
  {
    std::lock_guard lock(mutex_);
    if (idle_encoders_.size() < 64) idle_encoders_.push_back(std::move(encoder));
  }
  if (!encoded) return tl::unexpected(encoded.error());
  return out;
}

result<decoded_value> avro_serializer::decode(std::span<const std::uint8_t> value,
                                              std::shared_ptr<const avro::schema> reader,
                                              const avro::decode_options& options) {
  auto frame = avro::parse_confluent_frame(value);
  if (!frame) return make_error(errc::invalid_value, frame.error().message());
  auto writer = registry_.schema_by_id(frame->schema_id);
  if (!writer) return tl::unexpected(writer.error());
  decoded_value out;
  out.schema_id = frame->schema_id;
  if (!reader) {
    auto done = avro::decode_json(**writer, frame->body, out.json, options);
    if (!done) {
      return make_error(errc::invalid_value, fmt::format("schema id {}: {}", frame->schema_id, done.error().message()));
    }
    return out;
  }
  std::shared_ptr<const avro::resolver> plan;
  {
    std::lock_guard lock(mutex_);
    if (auto it = resolvers_.find({frame->schema_id, reader.get()}); it != resolvers_.end()) plan = it->second;
  }
  if (!plan) {
    auto created = avro::resolver::create(*writer, reader);
    if (!created) {
      return make_error(errc::invalid_value, fmt::format("schema id {} cannot be read as the reader schema: {}",
                                                         frame->schema_id, created.error().message()));
    }
    plan = std::make_shared<const avro::resolver>(std::move(*created));
    std::lock_guard lock(mutex_);
    resolvers_.try_emplace({frame->schema_id, reader.get()}, plan);
  }
  auto done = plan->decode_json(frame->body, out.json, options);
  if (!done) {
    return make_error(errc::invalid_value, fmt::format("schema id {}: {}", frame->schema_id, done.error().message()));
  }
  return out;
}

}  // namespace substrate::bus
