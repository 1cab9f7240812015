#pragma once
// The schema registry's operations (kafka-compat.md 7.2-7.4), independent of HTTP: each takes
// the decoded request and returns the JSON answer or a Confluent error. `rest_api` maps HTTP to
// these calls.
//
// Reads answer from memory. A miss (subject, version or schema not found) is answered only after
// catching up with the log, so what another registry on the cluster has acknowledged is found (a
// consumer decoding with an id that a producer registered through another registry). A hit may
// lag another registry's newest write by the reader's fetch latency, as Confluent's followers do.
//
// Threading: every member is thread-safe. Reads take the state mutex; writes are serialized by a
// writer mutex (one writer per process: ids and versions stay unique), catch up with the log,
// decide, append through the store and answer once the record has been applied. A registry on
// the same cluster that wins a race for the same subject version makes this one retry.
// Lifecycle: construct, set_store(), then the store feeds apply(); the store outlives use.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "schema/api_error.h"
#include "schema/records.h"
#include "schema/state.h"
#include "schema/store.h"

namespace substrate::schema {

using answer = std::variant<nlohmann::json, api_error>;

// The body of register, lookup and compatibility requests.
struct schema_request {
  std::string schema;
  std::string schema_type = "AVRO";
  std::string references;  // JSON array text, empty when none
};
// Decodes a request body; 400 for a body that is not a JSON object, 42201 for a missing schema.
[[nodiscard]] std::variant<schema_request, api_error> parse_schema_request(std::string_view body);

class registry {
public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  void set_store(store& s) { store_ = &s; }
  // Applies a record read from `_schemas` (key and value bytes); malformed records are logged and skipped.
  void apply(std::string_view key, const std::optional<std::string_view>& value);
  // The same for a record as encode() wrote it (in-memory logs, replays).
  void apply(const encoded_record& r) {
    apply(r.key, r.value ? std::optional<std::string_view>(*r.value) : std::nullopt);
  }

  answer register_schema(const std::string& subject, const schema_request& request);
  answer lookup(const std::string& subject, const schema_request& request, bool deleted);
  answer schema_by_id(std::string_view id);
  answer id_versions(std::string_view id, bool deleted);
  answer schema_types() const;
  answer subjects(std::string_view prefix, bool deleted);
  answer versions(const std::string& subject, bool deleted);
  answer version(const std::string& subject, std::string_view version, bool deleted);
  answer delete_subject(const std::string& subject, bool permanent);
  answer delete_version(const std::string& subject, std::string_view version, bool permanent);
  // subject nullopt: the global config.
  answer get_config(const std::optional<std::string>& subject, bool default_to_global);
  answer put_config(const std::optional<std::string>& subject, std::string_view body);
  answer delete_config(const std::string& subject);
  // version nullopt: against every version the subject's level names (POST .../versions).
  answer check(const std::string& subject, const std::optional<std::string_view>& version,
               const schema_request& request, bool verbose);

private:
  struct parsed_request {
    std::shared_ptr<const avro::schema> parsed;
    std::string canonical;
    std::string key;  // dedup key
  };
  std::variant<parsed_request, api_error> parse(const schema_request& request) const;
  std::optional<api_error> write(const std::vector<record>& records);
  // Runs `read`; on a miss catches up with the store and runs it again.
  template <typename Read>
  answer caught_up_on_miss(const Read& read);

  store* store_ = nullptr;
  std::mutex writer_mutex_;  // held across a whole write (decide, append, confirm)
  mutable std::mutex state_mutex_;
  state state_;
};

}  // namespace substrate::schema
