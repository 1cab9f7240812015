#include "kafka/security/acl.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kafka/security/errc.h"
#include "kafka/security/files.h"
#include "kafka/security/logger.h"

namespace substrate::kafka::security {
namespace {

using json = nlohmann::json;
constexpr int acls_format_version = 1;

template <class Enum, std::size_t N>
std::optional<Enum> lookup(const std::pair<std::string_view, Enum> (&table)[N], std::string_view text) {
  for (const auto& [name, value] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}
template <class Enum, std::size_t N>
std::string_view name_of(const std::pair<std::string_view, Enum> (&table)[N], Enum value) {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return "?";
}

constexpr std::pair<std::string_view, resource_type> resource_names[] = {
    {"topic", resource_type::topic}, {"group", resource_type::group}, {"cluster", resource_type::cluster}};
constexpr std::pair<std::string_view, pattern_type> pattern_names[] = {{"literal", pattern_type::literal},
                                                                       {"prefixed", pattern_type::prefixed}};
constexpr std::pair<std::string_view, acl_operation> operation_names[] = {
    {"all", acl_operation::all},
    {"read", acl_operation::read},
    {"write", acl_operation::write},
    {"create", acl_operation::create},
    {"delete", acl_operation::delete_},
    {"alter", acl_operation::alter},
    {"describe", acl_operation::describe},
    {"describe_configs", acl_operation::describe_configs},
    {"alter_configs", acl_operation::alter_configs},
    {"idempotent_write", acl_operation::idempotent_write}};
constexpr std::pair<std::string_view, acl_permission> permission_names[] = {{"allow", acl_permission::allow},
                                                                            {"deny", acl_permission::deny}};

bool principal_matches(const acl_entry& e, std::string_view principal) {
  return e.principal == principal || e.principal == "User:*";
}

bool resource_matches(const acl_entry& e, resource_type resource, std::string_view name) {
  if (e.resource != resource) return false;
  if (e.pattern == pattern_type::literal) return e.name == name || e.name == "*";
  return name.starts_with(e.name);
}

bool operation_matches(const acl_entry& e, acl_operation wanted) {
  if (e.operation == acl_operation::all || e.operation == wanted) return true;
  if (e.permission == acl_permission::deny) return false;
  if (wanted == acl_operation::describe) {
    return e.operation == acl_operation::read || e.operation == acl_operation::write ||
           e.operation == acl_operation::delete_ || e.operation == acl_operation::alter;
  }
  return wanted == acl_operation::describe_configs && e.operation == acl_operation::alter_configs;
}

}  // namespace

std::string_view to_string(resource_type value) {
  return name_of(resource_names, value);
}
std::string_view to_string(pattern_type value) {
  return name_of(pattern_names, value);
}
std::string_view to_string(acl_operation value) {
  return name_of(operation_names, value);
}
std::string_view to_string(acl_permission value) {
  return name_of(permission_names, value);
}
std::optional<resource_type> parse_resource_type(std::string_view text) {
  return lookup(resource_names, text);
}
std::optional<pattern_type> parse_pattern_type(std::string_view text) {
  return lookup(pattern_names, text);
}
std::optional<acl_operation> parse_operation(std::string_view text) {
  return lookup(operation_names, text);
}
std::optional<acl_permission> parse_permission(std::string_view text) {
  return lookup(permission_names, text);
}

std::optional<std::string> check_acl(const acl_entry& e) {
  if (!e.principal.starts_with("User:") || e.principal.size() == 5) {
    return fmt::format("principals look like User:<name> or User:*, got '{}'", e.principal);
  }
  if (e.name.empty()) return "the resource name must not be empty";
  if (e.name.size() > 1024) return "the resource name is longer than 1024 characters";
  for (const char c : e.principal + e.name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "names must not contain control characters";
  }
  if (e.resource == resource_type::cluster && e.name != cluster_resource_name) {
    return fmt::format("the cluster resource is named {}", cluster_resource_name);
  }
  if (e.pattern == pattern_type::prefixed && e.name == "*") return "'*' is a literal wildcard, not a prefix";
  return std::nullopt;
}

std::string describe(const acl_entry& e) {
  return fmt::format("{} {} {} {} {} '{}'", to_string(e.permission), e.principal, to_string(e.operation),
                     to_string(e.resource), to_string(e.pattern), e.name);
}

bool acls_allow(const std::vector<acl_entry>& acls, std::string_view principal, resource_type resource,
                std::string_view name, acl_operation operation) {
  bool allowed = false;
  for (const auto& e : acls) {
    if (!principal_matches(e, principal) || !resource_matches(e, resource, name) || !operation_matches(e, operation)) {
      continue;
    }
    if (e.permission == acl_permission::deny) return false;
    allowed = true;
  }
  return allowed;
}

bool acls_allow_any(const std::vector<acl_entry>& acls, std::string_view principal, resource_type resource,
                    acl_operation operation) {
  return std::any_of(acls.begin(), acls.end(), [&](const acl_entry& e) {
    return e.permission == acl_permission::allow && e.resource == resource && principal_matches(e, principal) &&
           operation_matches(e, operation);
  });
}

result<std::vector<acl_entry>> parse_acls(std::string_view json_text, std::string_view origin) {
  auto bad = [&](std::string why) { return make_error(errc::invalid_file, fmt::format("{}: {}", origin, why)); };
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    return bad(fmt::format("not valid JSON: {}", e.what()));
  }
  if (!root.is_object() || !root.contains("version") || root["version"] != acls_format_version) {
    return bad(fmt::format("expected an object with \"version\": {}", acls_format_version));
  }
  if (!root.contains("acls") || !root["acls"].is_array()) return bad("expected an \"acls\" array");
  std::vector<acl_entry> out;
  for (const auto& item : root["acls"]) {
    auto text = [&](const char* key) -> std::optional<std::string> {
      if (!item.is_object()) return std::nullopt;
      const auto it = item.find(key);
      if (it == item.end() || !it->is_string()) return std::nullopt;
      return it->get<std::string>();
    };
    const auto principal = text("principal");
    const auto name = text("name");
    const auto resource = parse_resource_type(text("resource_type").value_or(""));
    const auto pattern = parse_pattern_type(text("pattern_type").value_or(""));
    const auto operation = parse_operation(text("operation").value_or(""));
    const auto permission = parse_permission(text("permission").value_or(""));
    if (!principal || !name || !resource || !pattern || !operation || !permission) {
      return bad(fmt::format("ACL #{}: needs principal, resource_type, pattern_type, name, operation and permission",
                             out.size() + 1));
    }
    acl_entry e{*principal, *resource, *pattern, *name, *operation, *permission};
    if (auto why = check_acl(e)) return bad(fmt::format("ACL #{}: {}", out.size() + 1, *why));
    out.push_back(std::move(e));
  }
  return out;
}

std::string serialize_acls(const std::vector<acl_entry>& acls) {
  json list = json::array();
  for (const auto& e : acls) {
    list.push_back({{"principal", e.principal},
                    {"resource_type", to_string(e.resource)},
                    {"pattern_type", to_string(e.pattern)},
                    {"name", e.name},
                    {"operation", to_string(e.operation)},
                    {"permission", to_string(e.permission)}});
  }
  return json{{"version", acls_format_version}, {"acls", std::move(list)}}.dump(2) + "\n";
}

result<std::vector<acl_entry>> load_acls(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return std::vector<acl_entry>{};
  return parse_acls(**text, file.string());
}

result<bool> add_acl(const std::filesystem::path& file, const acl_entry& entry) {
  if (auto why = check_acl(entry)) return make_error(errc::invalid_argument, *why);
  auto lock = file_lock::acquire(file);
  if (!lock) return tl::unexpected(lock.error());
  auto acls = load_acls(file);
  if (!acls) return tl::unexpected(acls.error());
  if (std::find(acls->begin(), acls->end(), entry) != acls->end()) return false;
  acls->push_back(entry);
  if (auto r = replace_file(file, serialize_acls(*acls)); !r) return tl::unexpected(r.error());
  return true;
}

result<std::vector<acl_entry>> remove_acls(const std::filesystem::path& file,
                                           const std::function<bool(const acl_entry&)>& matches) {
  auto lock = file_lock::acquire(file);
  if (!lock) return tl::unexpected(lock.error());
  auto acls = load_acls(file);
  if (!acls) return tl::unexpected(acls.error());
  std::vector<acl_entry> kept;
  std::vector<acl_entry> removed;
  for (auto& e : *acls) (matches(e) ? removed : kept).push_back(std::move(e));
  if (!removed.empty()) {
    if (auto r = replace_file(file, serialize_acls(kept)); !r) return tl::unexpected(r.error());
  }
  return removed;
}

struct authorizer::impl {
  authorizer_config config;
  // The published ACL set. Readers (every authorize on every shard) load the plain pointer; no
  // reference count, no lock. A reload publishes a new version and keeps the old ones until the
  // authorizer is destroyed, since a reader may still be scanning one: reloads are operator
  // edits, so the list stays short. (std::atomic<std::shared_ptr> would do the same with a
  // spin lock per read; libstdc++ 12's also trips ThreadSanitizer.)
  std::atomic<const std::vector<acl_entry>*> acls{nullptr};
  std::atomic<std::int64_t> next_check_ms{0};
  std::mutex reload_mutex;  // one reloading thread at a time; never taken by readers
  file_version version;     // guarded by reload_mutex
  std::vector<std::unique_ptr<const std::vector<acl_entry>>> versions;  // guarded by reload_mutex

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  const std::vector<acl_entry>& current() {
    const auto now = now_ms();
    auto due = next_check_ms.load(std::memory_order_relaxed);
    if (now >= due && next_check_ms.compare_exchange_strong(due, now + 1000)) reload_if_changed();
    return *acls.load(std::memory_order_acquire);
  }

  // Call with reload_mutex held.
  void publish(std::vector<acl_entry> entries) {
    versions.push_back(std::make_unique<const std::vector<acl_entry>>(std::move(entries)));
    acls.store(versions.back().get(), std::memory_order_release);
  }

  void reload_if_changed() {
    std::unique_lock lock(reload_mutex, std::try_to_lock);
    if (!lock) return;
    const auto v = stat_version(config.acl_file);
    if (v == version) return;
    version = v;
    auto loaded = load_acls(config.acl_file);
    if (!loaded) {
      security_log.error("Kafka ACL file changed but cannot be used; keeping the previous ACLs",
                         {{"reason", loaded.error().message()}});
      return;
    }
    security_log.info("Kafka ACLs reloaded", {{"file", config.acl_file.string()}, {"acls", loaded->size()}});
    publish(std::move(*loaded));
  }
};

authorizer::authorizer(authorizer_config config) : impl_(std::make_unique<impl>()) {
  impl_->config = std::move(config);
  for (const auto& p : impl_->config.super_users) {
    if (!p.starts_with("User:") || p.size() == 5) {
      throw std::runtime_error(fmt::format("super user '{}': expected User:<name>", p));
    }
  }
  std::lock_guard lock(impl_->reload_mutex);
  impl_->version = stat_version(impl_->config.acl_file);
  auto loaded = load_acls(impl_->config.acl_file);
  if (!loaded) throw std::runtime_error(loaded.error().message());
  impl_->publish(std::move(*loaded));
  impl_->next_check_ms = impl::now_ms() + 1000;
}

authorizer::~authorizer() = default;

bool authorizer::super_user(std::string_view principal) const {
  const auto& supers = impl_->config.super_users;
  return std::find(supers.begin(), supers.end(), principal) != supers.end();
}

bool authorizer::authorize(std::string_view principal, resource_type resource, std::string_view name,
                           acl_operation operation) {
  if (super_user(principal)) return true;
  return acls_allow(impl_->current(), principal, resource, name, operation);
}

bool authorizer::authorize_any(std::string_view principal, resource_type resource, acl_operation operation) {
  if (super_user(principal)) return true;
  return acls_allow_any(impl_->current(), principal, resource, operation);
}

}  // namespace substrate::kafka::security
