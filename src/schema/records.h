#pragma once
// The records of the `_schemas` topic in Confluent Schema Registry's layout (kafka-compat.md 7.5;
// docs/formats/schemas-topic.md): UTF-8 JSON keys and values, so a Confluent registry pointed at
// the same cluster reads the same state. Encoding is deterministic (key properties in Confluent's
// order: keytype, subject, version, magic).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace substrate::schema {

struct schema_value {
  std::string subject;
  std::int32_t version = 0;
  std::int32_t id = 0;
  std::string schema;       // the canonical (compact) text
  std::string schema_type;  // "AVRO" (omitted on the wire), "JSON", "PROTOBUF"
  std::string references;   // a JSON array as text; empty when there are none
  bool deleted = false;
};

// A SCHEMA record: value absent = hard delete (tombstone) of subject/version.
struct schema_record {
  std::string subject;
  std::int32_t version = 0;
  std::optional<schema_value> value;
};
// A CONFIG record: subject absent = the global config; level absent = config deleted.
struct config_record {
  std::optional<std::string> subject;
  std::optional<std::string> level;
};
struct delete_subject_record {
  std::string subject;
  std::int32_t version = 0;  // the latest version at the time of the delete
};
// NOOP markers and record types this registry does not use (MODE, CLEAR_SUBJECT, ...).
struct ignored_record {
  std::string keytype;
};

using record = std::variant<schema_record, config_record, delete_subject_record, ignored_record>;

// Kafka key and value bytes of a record; a nullopt value is a tombstone.
struct encoded_record {
  std::string key;
  std::optional<std::string> value;
};

[[nodiscard]] encoded_record encode(const record& r);
// The record a key/value pair read from `_schemas` holds; an error sentence when it is malformed.
[[nodiscard]] std::variant<record, std::string> decode(std::string_view key,
                                                       const std::optional<std::string_view>& value);

}  // namespace substrate::schema
