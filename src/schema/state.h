#pragma once
// The registry's in-memory state: the replay of `_schemas` (records.h) from offset 0. Every
// registry process holds the whole state; it changes only by applying records read back from
// the topic, so registries on one cluster converge on the same state.
//
// Not thread-safe: `registry` guards it with its mutex.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "avro/compatibility.h"
#include "avro/schema.h"
#include "schema/records.h"

namespace substrate::schema {

// One registered schema, shared by every subject version that has its id.
struct schema_entry {
  std::int32_t id = 0;
  std::string text;                            // canonical text
  std::string schema_type;                     // "AVRO", ...
  std::string references;                      // JSON array text or empty
  std::shared_ptr<const avro::schema> parsed;  // null when the text does not parse (a foreign registry's)
};

class state {
public:
  // Applies one decoded record.
  void apply(const record& r);

  // The dedup key of a schema (kafka-compat.md 7.4).
  [[nodiscard]] static std::string dedup_key(const std::string& type, const std::string& text,
                                             const std::string& references);

  [[nodiscard]] const std::map<std::string, std::map<std::int32_t, schema_value>>& subjects() const {
    return subjects_;
  }
  // Versions of a subject (nullptr when it never had one, or all were hard-deleted).
  [[nodiscard]] const std::map<std::int32_t, schema_value>* versions(const std::string& subject) const;
  [[nodiscard]] const schema_entry* by_id(std::int32_t id) const;
  [[nodiscard]] std::optional<std::int32_t> id_of(const std::string& dedup_key) const;
  [[nodiscard]] std::int32_t max_id() const { return max_id_; }

  [[nodiscard]] const std::optional<avro::compatibility_level>& global_level() const { return global_level_; }
  [[nodiscard]] std::optional<avro::compatibility_level> subject_level(const std::string& subject) const;
  // Subject level, else global, else BACKWARD.
  [[nodiscard]] avro::compatibility_level effective_level(const std::string& subject) const;

private:
  void index(const schema_value& v);
  void unindex_if_unused(std::int32_t id);

  std::map<std::string, std::map<std::int32_t, schema_value>> subjects_;
  std::map<std::int32_t, schema_entry> ids_;
  std::map<std::string, std::int32_t> id_by_key_;
  std::int32_t max_id_ = 0;
  std::optional<avro::compatibility_level> global_level_;
  std::map<std::string, avro::compatibility_level> subject_levels_;
};

}  // namespace substrate::schema
