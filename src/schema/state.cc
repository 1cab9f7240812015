#include "schema/state.h"

#include "schema/logger.h"

namespace substrate::schema {

std::string state::dedup_key(const std::string& type, const std::string& text, const std::string& references) {
  std::string key = type.empty() ? std::string("AVRO") : type;
  key += '\n';
  key += references;
  key += '\n';
  key += text;
  return key;
}

void state::index(const schema_value& v) {
  if (v.id > max_id_) max_id_ = v.id;
  if (ids_.contains(v.id)) return;
  schema_entry entry{v.id, v.schema, v.schema_type.empty() ? "AVRO" : v.schema_type, v.references, nullptr};
  if (entry.schema_type == "AVRO") {
    if (auto parsed = avro::schema::parse(entry.text)) {
      entry.parsed = std::make_shared<const avro::schema>(std::move(*parsed));
    } else {
      schema_log.warn(
          "schema {} in _schemas does not parse; it is served but cannot take part in compatibility checks: {}", v.id,
          parsed.error().message());
    }
  }
  id_by_key_.emplace(dedup_key(entry.schema_type, entry.text, entry.references), v.id);
  ids_.emplace(v.id, std::move(entry));
}

void state::unindex_if_unused(std::int32_t id) {
  for (const auto& [subject, versions] : subjects_) {
    for (const auto& [version, v] : versions) {
      if (v.id == id) return;
    }
  }
  const auto it = ids_.find(id);
  if (it == ids_.end()) return;
  id_by_key_.erase(dedup_key(it->second.schema_type, it->second.text, it->second.references));
  ids_.erase(it);
}

void state::apply(const record& r) {
  if (const auto* s = std::get_if<schema_record>(&r)) {
    auto& versions = subjects_[s->subject];
    if (!s->value) {
      const auto it = versions.find(s->version);
      if (it == versions.end()) return;
      const auto id = it->second.id;
      versions.erase(it);
      if (versions.empty()) subjects_.erase(s->subject);
      unindex_if_unused(id);
      return;
    }
    index(*s->value);
    versions[s->version] = *s->value;
    return;
  }
  if (const auto* c = std::get_if<config_record>(&r)) {
    std::optional<avro::compatibility_level> level;
    if (c->level) {
      level = avro::parse_compatibility_level(*c->level);
      if (!level) {
        schema_log.warn("ignoring a CONFIG record with the unknown level {}", *c->level);
        return;
      }
    }
    if (!c->subject) {
      global_level_ = level;
    } else if (level) {
      subject_levels_[*c->subject] = *level;
    } else {
      subject_levels_.erase(*c->subject);
    }
    return;
  }
  if (const auto* d = std::get_if<delete_subject_record>(&r)) {
    // Confluent also rewrites each SCHEMA value with deleted=true; this covers a log that has
    // only the DELETE_SUBJECT record.
    const auto it = subjects_.find(d->subject);
    if (it == subjects_.end()) return;
    for (auto& [version, v] : it->second) {
      if (d->version == 0 || version <= d->version) v.deleted = true;
    }
  }
}

const std::map<std::int32_t, schema_value>* state::versions(const std::string& subject) const {
  const auto it = subjects_.find(subject);
  return it == subjects_.end() ? nullptr : &it->second;
}

const schema_entry* state::by_id(std::int32_t id) const {
  const auto it = ids_.find(id);
  return it == ids_.end() ? nullptr : &it->second;
}

std::optional<std::int32_t> state::id_of(const std::string& key) const {
  const auto it = id_by_key_.find(key);
  if (it == id_by_key_.end()) return std::nullopt;
  return it->second;
}

std::optional<avro::compatibility_level> state::subject_level(const std::string& subject) const {
  const auto it = subject_levels_.find(subject);
  if (it == subject_levels_.end()) return std::nullopt;
  return it->second;
}

avro::compatibility_level state::effective_level(const std::string& subject) const {
  if (auto level = subject_level(subject)) return *level;
  return global_level_.value_or(avro::compatibility_level::backward);
}

}  // namespace substrate::schema
