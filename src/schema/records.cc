#include "schema/records.h"

#include <limits>

#include <nlohmann/json.hpp>

namespace substrate::schema {
namespace {

using ordered = nlohmann::ordered_json;

struct encoder {
  encoded_record operator()(const schema_record& r) const {
    ordered key = {{"keytype", "SCHEMA"}, {"subject", r.subject}, {"version", r.version}, {"magic", 1}};
    encoded_record out{key.dump(), std::nullopt};
    if (r.value) {
      const auto& v = *r.value;
      ordered value = {{"subject", v.subject}, {"version", v.version}, {"id", v.id}, {"schema", v.schema}};
      if (!v.schema_type.empty() && v.schema_type != "AVRO") value["schemaType"] = v.schema_type;
      if (!v.references.empty()) value["references"] = ordered::parse(v.references);
      value["deleted"] = v.deleted;
      out.value = value.dump();
    }
    return out;
  }
  encoded_record operator()(const config_record& r) const {
    ordered key = {{"keytype", "CONFIG"}};
    key["subject"] = r.subject ? ordered(*r.subject) : ordered(nullptr);
    key["magic"] = 0;
    encoded_record out{key.dump(), std::nullopt};
    if (r.level) out.value = ordered{{"compatibilityLevel", *r.level}}.dump();
    return out;
  }
  encoded_record operator()(const delete_subject_record& r) const {
    ordered key = {{"keytype", "DELETE_SUBJECT"}, {"subject", r.subject}, {"magic", 0}};
    ordered value = {{"subject", r.subject}, {"version", r.version}};
    return {key.dump(), value.dump()};
  }
  encoded_record operator()(const ignored_record&) const {
    return {ordered{{"keytype", "NOOP"}, {"magic", 0}}.dump(), std::nullopt};
  }
};

bool valid_version(const nlohmann::json& v) {
  return v.is_number_integer() && v.get<std::int64_t>() >= 1 &&
         v.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max();
}

}  // namespace

encoded_record encode(const record& r) {
  return std::visit(encoder{}, r);
}

std::variant<record, std::string> decode(std::string_view key_text, const std::optional<std::string_view>& value_text) {
  const auto key = nlohmann::json::parse(key_text, nullptr, false);
  if (!key.is_object() || !key.contains("keytype") || !key["keytype"].is_string()) {
    return std::string("key is not a JSON object with a keytype");
  }
  const auto keytype = key["keytype"].get<std::string>();
  nlohmann::json value;
  if (value_text) {
    value = nlohmann::json::parse(*value_text, nullptr, false);
    if (value.is_discarded()) return std::string("value is not JSON");
  }
  if (keytype == "SCHEMA") {
    if (!key.contains("subject") || !key["subject"].is_string() || !key.contains("version") ||
        !valid_version(key["version"])) {
      return std::string("SCHEMA key without a subject and a version");
    }
    schema_record r{key["subject"].get<std::string>(), key["version"].get<std::int32_t>(), std::nullopt};
    if (value_text && !value.is_null()) {
      if (!value.is_object() || !value.contains("id") || !value["id"].is_number_integer() ||
          !value.contains("schema") || !value["schema"].is_string()) {
        return std::string("SCHEMA value without an id and a schema");
      }
      const auto id = value["id"].get<std::int64_t>();
      if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) return std::string("SCHEMA id out of range");
      schema_value v;
      v.subject = r.subject;
      v.version = r.version;
      v.id = static_cast<std::int32_t>(id);
      v.schema = value["schema"].get<std::string>();
      v.schema_type = value.contains("schemaType") && value["schemaType"].is_string()
                          ? value["schemaType"].get<std::string>()
                          : std::string("AVRO");
      if (value.contains("references") && value["references"].is_array() && !value["references"].empty()) {
        v.references = value["references"].dump();
      }
      v.deleted = value.contains("deleted") && value["deleted"].is_boolean() && value["deleted"].get<bool>();
      r.value = std::move(v);
    }
    return record{std::move(r)};
  }
  if (keytype == "CONFIG") {
    config_record r;
    if (key.contains("subject") && key["subject"].is_string()) r.subject = key["subject"].get<std::string>();
    if (value_text && !value.is_null()) {
      if (!value.is_object() || !value.contains("compatibilityLevel") || !value["compatibilityLevel"].is_string()) {
        // A config record of a newer registry without a compatibility level (e.g. only
        // normalize): nothing this registry uses.
        return record{ignored_record{keytype}};
      }
      r.level = value["compatibilityLevel"].get<std::string>();
    }
    return record{std::move(r)};
  }
  if (keytype == "DELETE_SUBJECT") {
    if (!key.contains("subject") || !key["subject"].is_string())
      return std::string("DELETE_SUBJECT key without a subject");
    delete_subject_record r{key["subject"].get<std::string>(), 0};
    if (value.is_object() && value.contains("version") && valid_version(value["version"])) {
      r.version = value["version"].get<std::int32_t>();
    }
    return record{std::move(r)};
  }
  return record{ignored_record{keytype}};
}

}  // namespace substrate::schema
