#pragma once
// The broker's SASL users: one SCRAM-SHA-256 credential per user (never a password), kept in a
// JSON file in the data dir (docs/formats/kafka-security.md), by default
// <data_dir>/kafka-security/users.json.
//
// Two sides:
// - the CLI (`substrate kafka user add|list|delete`) edits the file with add_user / delete_user
//   / list_users: read, modify, replace atomically (fsync + rename, mode 0600), under an flock,
//   so concurrent invocations never lose an update;
// - the broker reads it through a `user_store`, which re-reads the file whenever it changed
//   (inode, size or mtime), so users added while the broker runs can log in at once and deleted
//   users cannot start new sessions (existing connections keep theirs, as in Kafka).
//
// Threading: `user_store::find` may be called from any thread (an internal mutex guards the
// cache); it stats and maybe reads the file, so call it off the shards (the listener runs SASL
// steps on the blocking pool).

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "kafka/security/scram.h"

namespace substrate::kafka::security {

struct user_record {
  std::string name;
  scram_credential scram_sha_256;
};
using user_map = std::map<std::string, user_record, std::less<>>;

// User names: 1-255 characters of [A-Za-z0-9._@-] (no ',' or '=', which SCRAM would escape, no
// ':' which separates principal type and name, no spaces). Returns an error sentence or nothing.
[[nodiscard]] std::optional<std::string> check_user_name(std::string_view name);

// The file format both ways; parse validates every field.
[[nodiscard]] result<user_map> parse_users(std::string_view json_text, std::string_view origin);
[[nodiscard]] std::string serialize_users(const user_map& users);

// The file's users (an absent file is an empty map).
[[nodiscard]] result<user_map> load_users(const std::filesystem::path& file);
// CLI operations: validate, lock, read, modify, replace.
[[nodiscard]] result<void> add_user(const std::filesystem::path& file, const std::string& name,
                                    std::string_view password, std::int32_t iterations = scram_iterations_min);
[[nodiscard]] result<void> delete_user(const std::filesystem::path& file, const std::string& name);

class user_store {
public:
  explicit user_store(std::filesystem::path file);
  ~user_store();
  user_store(const user_store&) = delete;
  user_store& operator=(const user_store&) = delete;

  // Loads the file now; a broken file is an error (start-up fails fast on it).
  [[nodiscard]] result<void> load();
  // The user's credential, from the file as it is now. If a changed file does not parse, the
  // previous version stays in use and the problem is logged once.
  [[nodiscard]] std::optional<scram_credential> find(const std::string& name);
  [[nodiscard]] const std::filesystem::path& file() const { return file_; }

  struct impl;

private:
  std::filesystem::path file_;
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::kafka::security
