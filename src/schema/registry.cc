#include "schema/registry.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "avro/canonical.h"
#include "schema/logger.h"

namespace substrate::schema {
namespace {

using json = nlohmann::json;
constexpr std::int32_t latest = -1;

api_error subject_not_found(const std::string& subject) {
  return {40401, fmt::format("Subject '{}' not found.", subject)};
}
api_error version_not_found(std::int32_t version) {
  return {40402, fmt::format("Version {} not found.", version)};
}
api_error invalid_level() {
  return {42203,
          "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, "
          "forward_transitive, and full_transitive"};
}

// "latest", -1 or 1..2^31-1; 42202 otherwise.
std::variant<std::int32_t, api_error> parse_version(std::string_view text) {
  if (text == "latest" || text == "-1") return latest;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > std::numeric_limits<std::int32_t>::max()) {
    return api_error{42202, fmt::format("The specified version '{}' is not a valid version id. Allowed values are "
                                        "between [1, 2^31-1] and the string \"latest\"",
                                        text)};
  }
  return static_cast<std::int32_t>(value);
}

std::optional<std::int32_t> parse_id(std::string_view text) {
  std::int32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

json version_json(const schema_value& v) {
  json out = {{"subject", v.subject}, {"version", v.version}, {"id", v.id}};
  if (!v.schema_type.empty() && v.schema_type != "AVRO") out["schemaType"] = v.schema_type;
  if (!v.references.empty()) out["references"] = json::parse(v.references);
  out["schema"] = v.schema;
  return out;
}

bool has_live(const std::map<std::int32_t, schema_value>& versions) {
  return std::any_of(versions.begin(), versions.end(), [](const auto& kv) { return !kv.second.deleted; });
}

api_error schema_not_found(std::string_view id_text) {
  return api_error{40403, fmt::format("Schema {} not found", id_text)};
}

bool is_miss(const answer& a) {
  const auto* e = std::get_if<api_error>(&a);
  return e && (e->code == 40401 || e->code == 40402 || e->code == 40403);
}

}  // namespace

std::variant<schema_request, api_error> parse_schema_request(std::string_view body) {
  const auto doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return api_error{400, "The request body is not a JSON object"};
  schema_request out;
  if (!doc.contains("schema") || !doc["schema"].is_string() || doc["schema"].get<std::string>().empty()) {
    return api_error{42201, "Invalid schema: the body has no \"schema\" string"};
  }
  out.schema = doc["schema"].get<std::string>();
  if (doc.contains("schemaType") && !doc["schemaType"].is_null()) {
    if (!doc["schemaType"].is_string()) return api_error{42201, "Invalid schema: schemaType is not a string"};
    out.schema_type = doc["schemaType"].get<std::string>();
    std::transform(out.schema_type.begin(), out.schema_type.end(), out.schema_type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  if (doc.contains("references") && !doc["references"].is_null()) {
    if (!doc["references"].is_array()) return api_error{42201, "Invalid schema: references is not an array"};
    if (!doc["references"].empty()) out.references = doc["references"].dump();
  }
  return out;
}

void registry::apply(std::string_view key, const std::optional<std::string_view>& value) {
  auto decoded = decode(key, value);
  if (auto* problem = std::get_if<std::string>(&decoded)) {
    schema_log.warn("skipping a malformed _schemas record: {}", *problem);
    return;
  }
  std::lock_guard lock(state_mutex_);
  state_.apply(std::get<record>(decoded));
}

std::variant<registry::parsed_request, api_error> registry::parse(const schema_request& request) const {
  if (request.schema_type != "AVRO") {
    return api_error{42201, fmt::format("Invalid schema: schemaType {} is not supported (this registry speaks AVRO)",
                                        request.schema_type)};
  }
  if (!request.references.empty()) {
    return api_error{42201, "Invalid schema: schema references are not supported by this registry"};
  }
  auto parsed = avro::schema::parse(request.schema);
  if (!parsed) return api_error{42201, "Invalid schema: " + parsed.error().message()};
  parsed_request out;
  out.parsed = std::make_shared<const avro::schema>(std::move(*parsed));
  out.canonical = avro::compact_json(*out.parsed);
  out.key = state::dedup_key(request.schema_type, out.canonical, request.references);
  return out;
}

std::optional<api_error> registry::write(const std::vector<record>& records) {
  if (!store_) return api_error{50001, "Error while registering the schema: no store"};
  return store_->append(records);
}

template <typename Read>
answer registry::caught_up_on_miss(const Read& read) {
  auto out = read();
  if (!store_ || !is_miss(out)) return out;
  if (auto e = store_->catch_up()) return *e;
  return read();
}

answer registry::register_schema(const std::string& subject, const schema_request& request) {
  auto parsed_or = parse(request);
  if (auto* e = std::get_if<api_error>(&parsed_or)) return *e;
  const auto& p = std::get<parsed_request>(parsed_or);
  std::lock_guard writer(writer_mutex_);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (store_) {
      if (auto e = store_->catch_up()) return *e;
    }
    schema_value v;
    {
      std::lock_guard lock(state_mutex_);
      const auto* versions = state_.versions(subject);
      std::int32_t version_max = 0;
      std::vector<const avro::schema*> live;
      if (versions) {
        for (const auto& [number, existing] : *versions) {
          version_max = std::max(version_max, number);
          if (existing.deleted) continue;
          if (state::dedup_key(existing.schema_type, existing.schema, existing.references) == p.key) {
            return json{{"id", existing.id}};
          }
          const auto* entry = state_.by_id(existing.id);
          if (entry && entry->parsed) live.push_back(entry->parsed.get());
        }
      }
      const auto level = state_.effective_level(subject);
      auto problems = avro::check_compatibility(level, *p.parsed, live);
      if (!problems.empty()) {
        std::string details;
        for (const auto& problem : problems) {
          if (!details.empty()) details += "; ";
          details += problem.path + ": " + problem.message;
        }
        return api_error{409, fmt::format("Schema being registered is incompatible with an earlier schema for "
                                          "subject \"{}\" ({}), details: [{}]",
                                          subject, avro::compatibility_level_name(level), details)};
      }
      v.subject = subject;
      v.version = version_max + 1;
      v.id = state_.id_of(p.key).value_or(state_.max_id() + 1);
      v.schema = p.canonical;
      v.schema_type = request.schema_type;
      v.references = request.references;
    }
    if (auto e = write({schema_record{subject, v.version, v}})) return *e;
    {
      std::lock_guard lock(state_mutex_);
      const auto* versions = state_.versions(subject);
      if (versions) {
        const auto it = versions->find(v.version);
        if (it != versions->end() && it->second.id == v.id) return json{{"id", v.id}};
      }
    }
    schema_log.info("another registry wrote version {} of {} first; deciding again", v.version, subject);
  }
  return api_error{50001, fmt::format("Error while registering a schema under {}: concurrent writers", subject)};
}

answer registry::lookup(const std::string& subject, const schema_request& request, bool deleted) {
  auto parsed_or = parse(request);
  if (auto* e = std::get_if<api_error>(&parsed_or)) return *e;
  const auto& p = std::get<parsed_request>(parsed_or);
  return caught_up_on_miss([&]() -> answer {
    std::lock_guard lock(state_mutex_);
    const auto* versions = state_.versions(subject);
    if (!versions || (!deleted && !has_live(*versions))) return subject_not_found(subject);
    // The newest matching version, as Confluent answers.
    for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
      const auto& v = it->second;
      if (v.deleted && !deleted) continue;
      if (state::dedup_key(v.schema_type, v.schema, v.references) == p.key) return version_json(v);
    }
    return api_error{40403, "Schema not found"};
  });
}

answer registry::schema_by_id(std::string_view id_text) {
  const auto id = parse_id(id_text);
  if (!id) return schema_not_found(id_text);  // no id is ever found: not worth a look at the log
  return caught_up_on_miss([&]() -> answer {
    std::lock_guard lock(state_mutex_);
    const auto* entry = state_.by_id(*id);
    if (!entry) return schema_not_found(id_text);
    json out = {{"schema", entry->text}};
    if (entry->schema_type != "AVRO") out["schemaType"] = entry->schema_type;
    if (!entry->references.empty()) out["references"] = json::parse(entry->references);
    return out;
  });
}

answer registry::id_versions(std::string_view id_text, bool deleted) {
  const auto id = parse_id(id_text);
  if (!id) return schema_not_found(id_text);
  return caught_up_on_miss([&]() -> answer {
    std::lock_guard lock(state_mutex_);
    if (!state_.by_id(*id)) return schema_not_found(id_text);
    json out = json::array();
    for (const auto& [subject, versions] : state_.subjects()) {
      for (const auto& [number, v] : versions) {
        if (v.id == *id && (deleted || !v.deleted)) out.push_back({{"subject", subject}, {"version", number}});
      }
    }
    return out;
  });
}

answer registry::schema_types() const {
  return json::array({"AVRO"});
}

answer registry::subjects(std::string_view prefix, bool deleted) {
  std::lock_guard lock(state_mutex_);
  json out = json::array();
  for (const auto& [subject, versions] : state_.subjects()) {  // std::map: sorted
    if (!subject.starts_with(prefix)) continue;
    if (deleted || has_live(versions)) out.push_back(subject);
  }
  return out;
}

answer registry::versions(const std::string& subject, bool deleted) {
  return caught_up_on_miss([&]() -> answer {
    std::lock_guard lock(state_mutex_);
    const auto* versions = state_.versions(subject);
    json out = json::array();
    if (versions) {
      for (const auto& [number, v] : *versions) {
        if (deleted || !v.deleted) out.push_back(number);
      }
    }
    if (out.empty()) return subject_not_found(subject);
    return out;
  });
}

answer registry::version(const std::string& subject, std::string_view version_text, bool deleted) {
  const auto parsed = parse_version(version_text);
  if (auto* e = std::get_if<api_error>(&parsed)) return *e;
  const auto number = std::get<std::int32_t>(parsed);
  return caught_up_on_miss([&]() -> answer {
    std::lock_guard lock(state_mutex_);
    const auto* versions = state_.versions(subject);
    if (!versions || (!deleted && !has_live(*versions))) return subject_not_found(subject);
    if (number == latest) {
      for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
        if (deleted || !it->second.deleted) return version_json(it->second);
      }
      return subject_not_found(subject);
    }
    const auto it = versions->find(number);
    if (it == versions->end() || (it->second.deleted && !deleted)) return version_not_found(number);
    return version_json(it->second);
  });
}

answer registry::delete_subject(const std::string& subject, bool permanent) {
  std::lock_guard writer(writer_mutex_);
  if (store_) {
    if (auto e = store_->catch_up()) return *e;
  }
  std::vector<record> records;
  json deleted_versions = json::array();
  {
    std::lock_guard lock(state_mutex_);
    const auto* versions = state_.versions(subject);
    if (!versions || versions->empty()) return subject_not_found(subject);
    if (!permanent) {
      if (!has_live(*versions)) {
        return api_error{
            40404, fmt::format("Subject '{}' was soft deleted.Set permanent=true to delete permanently", subject)};
      }
      std::int32_t newest = 0;
      for (const auto& [number, v] : *versions) {
        if (v.deleted) continue;
        auto copy = v;
        copy.deleted = true;
        records.push_back(schema_record{subject, number, copy});
        deleted_versions.push_back(number);
        newest = number;
      }
      records.push_back(delete_subject_record{subject, newest});
    } else {
      if (has_live(*versions)) {
        return api_error{40405,
                         fmt::format("Subject '{}' was not deleted first before being permanently deleted", subject)};
      }
      for (const auto& [number, v] : *versions) {
        records.push_back(schema_record{subject, number, std::nullopt});
        deleted_versions.push_back(number);
      }
      if (state_.subject_level(subject)) records.push_back(config_record{subject, std::nullopt});
    }
  }
  if (auto e = write(records)) return *e;
  return deleted_versions;
}

answer registry::delete_version(const std::string& subject, std::string_view version_text, bool permanent) {
  const auto parsed = parse_version(version_text);
  if (auto* e = std::get_if<api_error>(&parsed)) return *e;
  auto number = std::get<std::int32_t>(parsed);
  std::lock_guard writer(writer_mutex_);
  if (store_) {
    if (auto e = store_->catch_up()) return *e;
  }
  record r;
  {
    std::lock_guard lock(state_mutex_);
    const auto* versions = state_.versions(subject);
    if (!versions || versions->empty() || (!permanent && !has_live(*versions))) return subject_not_found(subject);
    if (number == latest) {
      for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
        if (permanent || !it->second.deleted) {
          number = it->first;
          break;
        }
      }
    }
    const auto it = versions->find(number);
    if (it == versions->end()) return version_not_found(number);
    if (!permanent) {
      if (it->second.deleted) {
        return api_error{40406, fmt::format("Subject '{}' Version {} was soft deleted.Set permanent=true to delete "
                                            "permanently",
                                            subject, number)};
      }
      auto copy = it->second;
      copy.deleted = true;
      r = schema_record{subject, number, copy};
    } else {
      if (!it->second.deleted) {
        return api_error{40407, fmt::format("Subject '{}' Version {} was not deleted first before being permanently "
                                            "deleted",
                                            subject, number)};
      }
      r = schema_record{subject, number, std::nullopt};
    }
  }
  if (auto e = write({r})) return *e;
  return json(number);
}

answer registry::get_config(const std::optional<std::string>& subject, bool default_to_global) {
  std::lock_guard lock(state_mutex_);
  std::optional<avro::compatibility_level> level;
  if (subject) {
    level = state_.subject_level(*subject);
    if (!level && !default_to_global) {
      return api_error{40408,
                       fmt::format("Subject '{}' does not have subject-level compatibility configured", *subject)};
    }
  }
  if (!level) level = state_.global_level().value_or(avro::compatibility_level::backward);
  return json{{"compatibilityLevel", avro::compatibility_level_name(*level)}};
}

answer registry::put_config(const std::optional<std::string>& subject, std::string_view body) {
  const auto doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return api_error{400, "The request body is not a JSON object"};
  if (!doc.contains("compatibility") || !doc["compatibility"].is_string()) return invalid_level();
  const auto level = avro::parse_compatibility_level(doc["compatibility"].get<std::string>());
  if (!level) return invalid_level();
  const std::string name(avro::compatibility_level_name(*level));
  std::lock_guard writer(writer_mutex_);
  if (auto e = write({config_record{subject, name}})) return *e;
  return json{{"compatibility", name}};
}

answer registry::delete_config(const std::string& subject) {
  std::lock_guard writer(writer_mutex_);
  if (store_) {
    if (auto e = store_->catch_up()) return *e;
  }
  std::optional<avro::compatibility_level> previous;
  {
    std::lock_guard lock(state_mutex_);
    previous = state_.subject_level(subject);
  }
  if (!previous) return subject_not_found(subject);
  if (auto e = write({config_record{subject, std::nullopt}})) return *e;
  return json{{"compatibilityLevel", avro::compatibility_level_name(*previous)}};
}

answer registry::check(const std::string& subject, const std::optional<std::string_view>& version_text,
                       const schema_request& request, bool verbose) {
  std::int32_t number = latest;
  if (version_text) {
    const auto parsed = parse_version(*version_text);
    if (auto* e = std::get_if<api_error>(&parsed)) return *e;
    number = std::get<std::int32_t>(parsed);
  }
  auto parsed_or = parse(request);
  if (auto* e = std::get_if<api_error>(&parsed_or)) return *e;
  const auto& p = std::get<parsed_request>(parsed_or);
  std::lock_guard lock(state_mutex_);
  const auto* versions = state_.versions(subject);
  std::vector<const avro::schema*> against;
  auto level = state_.effective_level(subject);
  if (!versions || !has_live(*versions)) {
    if (number != latest) return subject_not_found(subject);
  } else if (version_text && number != latest) {
    const auto it = versions->find(number);
    if (it == versions->end() || it->second.deleted) return version_not_found(number);
    if (const auto* entry = state_.by_id(it->second.id); entry && entry->parsed) against.push_back(entry->parsed.get());
  } else {
    for (const auto& [n, v] : *versions) {
      if (v.deleted) continue;
      if (const auto* entry = state_.by_id(v.id); entry && entry->parsed) against.push_back(entry->parsed.get());
    }
    // One named version (or `latest`): only that one, whatever the transitive level says.
    if (version_text && !against.empty()) against.erase(against.begin(), against.end() - 1);
  }
  const auto problems = avro::check_compatibility(level, *p.parsed, against);
  json out = {{"is_compatible", problems.empty()}};
  if (verbose) {
    json messages = json::array();
    for (const auto& problem : problems) messages.push_back(problem.path + ": " + problem.message);
    out["messages"] = messages;
  }
  return out;
}

}  // namespace substrate::schema
