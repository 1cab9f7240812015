#include "app/kafka_admin.h"

#include <cstdio>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "kafka/security/acl.h"
#include "kafka/security/paths.h"
#include "kafka/security/user_store.h"

namespace substrate::app {
namespace {

namespace sec = kafka::security;

int failed(const std::string& message) {
  std::fprintf(stderr, "substrate: %s\n", message.c_str());
  return 1;
}

struct resource_choice {
  sec::resource_type type;
  std::string name;
};

// The resource named by --topic / --group / --cluster; nullopt when none (an error for add).
std::optional<resource_choice> chosen_resource(const acl_options& o, std::string& error) {
  const int count = (o.topic.empty() ? 0 : 1) + (o.group.empty() ? 0 : 1) + (o.cluster ? 1 : 0);
  if (count > 1) {
    error = "name one resource: --topic, --group or --cluster";
    return std::nullopt;
  }
  if (!o.topic.empty()) return resource_choice{sec::resource_type::topic, o.topic};
  if (!o.group.empty()) return resource_choice{sec::resource_type::group, o.group};
  if (o.cluster) return resource_choice{sec::resource_type::cluster, std::string(sec::cluster_resource_name)};
  return std::nullopt;
}

std::optional<std::vector<sec::acl_operation>> parse_operations(const std::vector<std::string>& names,
                                                                std::string& error) {
  std::vector<sec::acl_operation> out;
  for (const auto& list : names) {
    std::size_t start = 0;
    while (start <= list.size()) {
      const auto comma = list.find(',', start);
      const auto name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!name.empty()) {
        auto op = sec::parse_operation(name);
        if (!op) {
          error = fmt::format(
              "unknown operation '{}' (all, read, write, create, delete, alter, describe, describe_configs, "
              "alter_configs, idempotent_write)",
              name);
          return std::nullopt;
        }
        out.push_back(*op);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool matches(const sec::acl_entry& e, const acl_options& f, const std::optional<resource_choice>& resource,
             const std::vector<sec::acl_operation>& operations) {
  if (!f.principal.empty() && e.principal != f.principal) return false;
  if (resource && (e.resource != resource->type || e.name != resource->name)) return false;
  if (resource && (e.pattern == sec::pattern_type::prefixed) != f.prefixed) return false;
  if (!operations.empty() && std::find(operations.begin(), operations.end(), e.operation) == operations.end()) {
    return false;
  }
  return !f.deny || e.permission == sec::acl_permission::deny;
}

}  // namespace

int kafka_user_add(const std::string& data_dir, const std::string& name, bool password_stdin, std::int32_t iterations) {
  std::string password;
  bool generated = false;
  if (password_stdin) {
    if (!std::getline(std::cin, password) || password.empty()) {
      return failed("--password-stdin: expected the password on the first line of standard input");
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
  } else {
    password = sec::random_alphanumeric(32);
    generated = true;
  }
  const auto file = sec::users_file(data_dir);
  if (auto r = sec::add_user(file, name, password, iterations); !r) return failed(r.error().message());
  std::printf("created Kafka user %s (principal User:%s, SCRAM-SHA-256 and PLAIN)\n", name.c_str(), name.c_str());
  if (generated) {
    std::printf("password: %s\n", password.c_str());
    std::fprintf(stderr, "The password is shown only this once; it is not stored, only a SCRAM credential is.\n");
  }
  return 0;
}

int kafka_user_list(const std::string& data_dir) {
  const auto file = sec::users_file(data_dir);
  auto users = sec::load_users(file);
  if (!users) return failed(users.error().message());
  if (users->empty()) std::fprintf(stderr, "no Kafka users in %s\n", file.c_str());
  for (const auto& [name, user] : *users) {
    std::printf("%s  SCRAM-SHA-256 (%d iterations)\n", name.c_str(), user.scram_sha_256.iterations);
  }
  return 0;
}

int kafka_user_delete(const std::string& data_dir, const std::string& name) {
  if (auto r = sec::delete_user(sec::users_file(data_dir), name); !r) return failed(r.error().message());
  std::printf("deleted Kafka user %s (open connections keep their session until they close)\n", name.c_str());
  return 0;
}

int kafka_acl_add(const std::string& data_dir, const acl_options& o) {
  std::string error;
  const auto resource = chosen_resource(o, error);
  if (!error.empty()) return failed(error);
  if (!resource) return failed("name the resource: --topic NAME, --group NAME or --cluster");
  if (o.principal.empty()) return failed("name the principal: --user NAME or --principal User:NAME");
  const auto operations = parse_operations(o.operations, error);
  if (!operations) return failed(error);
  if (operations->empty()) return failed("name the operations: --operation read,write,...");
  for (const auto op : *operations) {
    sec::acl_entry e{o.principal,
                     resource->type,
                     o.prefixed ? sec::pattern_type::prefixed : sec::pattern_type::literal,
                     resource->name,
                     op,
                     o.deny ? sec::acl_permission::deny : sec::acl_permission::allow};
    auto added = sec::add_acl(sec::acl_file(data_dir), e);
    if (!added) return failed(added.error().message());
    std::printf("%s %s\n", *added ? "added  " : "exists ", sec::describe(e).c_str());
  }
  return 0;
}

int kafka_acl_list(const std::string& data_dir, const acl_options& f) {
  std::string error;
  const auto resource = chosen_resource(f, error);
  const auto operations = parse_operations(f.operations, error);
  if (!error.empty()) return failed(error);
  auto acls = sec::load_acls(sec::acl_file(data_dir));
  if (!acls) return failed(acls.error().message());
  std::size_t shown = 0;
  for (const auto& e : *acls) {
    if (!matches(e, f, resource, *operations)) continue;
    std::printf("%s\n", sec::describe(e).c_str());
    ++shown;
  }
  if (shown == 0) std::fprintf(stderr, "no matching ACLs in %s\n", sec::acl_file(data_dir).c_str());
  return 0;
}

int kafka_acl_delete(const std::string& data_dir, const acl_options& f) {
  std::string error;
  const auto resource = chosen_resource(f, error);
  const auto operations = parse_operations(f.operations, error);
  if (!error.empty()) return failed(error);
  if (f.principal.empty() && !resource) {
    return failed("name what to delete: --user/--principal and/or --topic/--group/--cluster");
  }
  auto removed = sec::remove_acls(sec::acl_file(data_dir),
                                  [&](const sec::acl_entry& e) { return matches(e, f, resource, *operations); });
  if (!removed) return failed(removed.error().message());
  for (const auto& e : *removed) std::printf("deleted %s\n", sec::describe(e).c_str());
  if (removed->empty()) return failed("no ACL matched; nothing deleted");
  return 0;
}

}  // namespace substrate::app
