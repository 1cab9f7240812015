#pragma once
// Access control for the broker: ACL entries (spec kafka-compat.md 5.7), the file that keeps
// them (<data_dir>/kafka-security/acls.json, docs/formats/kafka-security.md) and the
// `authorizer` the broker asks `authorize(principal, resource, operation)`.
//
// Semantics, as Kafka's AclAuthorizer: super users may do anything; otherwise a DENY entry
// that matches wins, then an ALLOW entry that matches allows, and no match denies. An entry
// matches when its principal is the caller's or `User:*`, its resource type is the resource's,
// its name is the resource's (LITERAL), `*` (LITERAL wildcard) or a prefix of it (PREFIXED),
// and its operation is the one asked for or ALL. An ALLOW of READ, WRITE, DELETE or ALTER
// implies DESCRIBE, and ALTER_CONFIGS implies DESCRIBE_CONFIGS (never for DENY).
//
// The authorizer re-reads the file when it changes, checking at most once a second, so
// `substrate kafka acl add` takes effect on a running broker within a second. authorize() is
// called on the shards: it reads an immutable snapshot; the once-a-second stat (and, after a
// change, the read of a small file) is the only file access, accepted on the data path in
// exchange for not needing a reload command.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace substrate::kafka::security {

enum class resource_type { topic, group, cluster };
enum class pattern_type { literal, prefixed };
enum class acl_operation {
  all,
  read,
  write,
  create,
  delete_,
  alter,
  describe,
  describe_configs,
  alter_configs,
  idempotent_write
};
enum class acl_permission { allow, deny };

struct acl_entry {
  std::string principal;  // "User:<name>" or "User:*"
  resource_type resource = resource_type::topic;
  pattern_type pattern = pattern_type::literal;
  std::string name;  // the resource name, prefix, or "*"; "kafka-cluster" for the cluster
  acl_operation operation = acl_operation::all;
  acl_permission permission = acl_permission::allow;
  friend bool operator==(const acl_entry&, const acl_entry&) = default;
};

// Lower-case names as the CLI and the file spell them: topic, prefixed, describe_configs, deny.
[[nodiscard]] std::string_view to_string(resource_type value);
[[nodiscard]] std::string_view to_string(pattern_type value);
[[nodiscard]] std::string_view to_string(acl_operation value);
[[nodiscard]] std::string_view to_string(acl_permission value);
[[nodiscard]] std::optional<resource_type> parse_resource_type(std::string_view text);
[[nodiscard]] std::optional<pattern_type> parse_pattern_type(std::string_view text);
[[nodiscard]] std::optional<acl_operation> parse_operation(std::string_view text);
[[nodiscard]] std::optional<acl_permission> parse_permission(std::string_view text);

// The one name of the cluster resource (as Kafka's "kafka-cluster").
inline constexpr std::string_view cluster_resource_name = "kafka-cluster";
inline constexpr std::string_view anonymous_principal = "User:ANONYMOUS";

// Validates one entry (principal form, non-empty names, cluster entries named kafka-cluster);
// returns an error sentence or nothing.
[[nodiscard]] std::optional<std::string> check_acl(const acl_entry& entry);

// One human-readable line: "allow User:alice write topic prefixed 'orders.'".
[[nodiscard]] std::string describe(const acl_entry& entry);

// The pure decision, without super users (see the header comment).
[[nodiscard]] bool acls_allow(const std::vector<acl_entry>& acls, std::string_view principal, resource_type resource,
                              std::string_view name, acl_operation operation);
// Whether some ALLOW entry for the principal grants `operation` on any resource of the type
// (used for InitProducerId: WRITE on any topic allows an idempotent producer, as in Kafka).
[[nodiscard]] bool acls_allow_any(const std::vector<acl_entry>& acls, std::string_view principal,
                                  resource_type resource, acl_operation operation);

[[nodiscard]] result<std::vector<acl_entry>> parse_acls(std::string_view json_text, std::string_view origin);
[[nodiscard]] std::string serialize_acls(const std::vector<acl_entry>& acls);
[[nodiscard]] result<std::vector<acl_entry>> load_acls(const std::filesystem::path& file);
// CLI operations (locked read-modify-write, atomic replace). add_acl is idempotent (adding an
// existing entry changes nothing); remove_acls deletes every entry `matches` accepts and returns
// what it deleted.
[[nodiscard]] result<bool> add_acl(const std::filesystem::path& file, const acl_entry& entry);
[[nodiscard]] result<std::vector<acl_entry>> remove_acls(const std::filesystem::path& file,
                                                         const std::function<bool(const acl_entry&)>& matches);

struct authorizer_config {
  std::filesystem::path acl_file;
  std::vector<std::string> super_users;  // principals, "User:<name>"
};

class authorizer {
public:
  // Loads the ACL file; throws std::runtime_error when it exists but is invalid (fail fast).
  explicit authorizer(authorizer_config config);
  ~authorizer();
  authorizer(const authorizer&) = delete;
  authorizer& operator=(const authorizer&) = delete;

  [[nodiscard]] bool authorize(std::string_view principal, resource_type resource, std::string_view name,
                               acl_operation operation);
  [[nodiscard]] bool authorize_any(std::string_view principal, resource_type resource, acl_operation operation);
  [[nodiscard]] bool super_user(std::string_view principal) const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::kafka::security
