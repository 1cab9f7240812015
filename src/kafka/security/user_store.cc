#include "kafka/security/user_store.h"

#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kafka/security/errc.h"
#include "kafka/security/files.h"
#include "kafka/security/logger.h"

namespace substrate::kafka::security {
namespace {

using json = nlohmann::json;
constexpr int users_format_version = 1;

std::string b64(const byte_string& bytes) {
  return base64_encode(bytes);
}

}  // namespace

std::optional<std::string> check_user_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return "user names are 1 to 255 characters long";
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '@';
    if (!ok) return fmt::format("user names may only contain letters, digits and . _ - @ (got '{}')", name);
  }
  return std::nullopt;
}

result<user_map> parse_users(std::string_view json_text, std::string_view origin) {
  auto bad = [&](std::string why) { return make_error(errc::invalid_file, fmt::format("{}: {}", origin, why)); };
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    return bad(fmt::format("not valid JSON: {}", e.what()));
  }
  if (!root.is_object() || !root.contains("version") || root["version"] != users_format_version) {
    return bad(fmt::format("expected an object with \"version\": {}", users_format_version));
  }
  if (!root.contains("users") || !root["users"].is_array()) return bad("expected a \"users\" array");
  user_map users;
  for (const auto& entry : root["users"]) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) {
      return bad("every user needs a string \"name\"");
    }
    user_record user;
    user.name = entry["name"].get<std::string>();
    if (auto why = check_user_name(user.name)) return bad(*why);
    const auto scram = entry.find("scram_sha_256");
    if (scram == entry.end() || !scram->is_object()) return bad(fmt::format("user {}: no scram_sha_256", user.name));
    auto field = [&](const char* key) -> std::optional<byte_string> {
      const auto it = scram->find(key);
      if (it == scram->end() || !it->is_string()) return std::nullopt;
      return base64_decode(it->get<std::string>());
    };
    auto salt = field("salt");
    auto stored = field("stored_key");
    auto server = field("server_key");
    const auto iterations = scram->find("iterations");
    if (!salt || salt->empty() || !stored || stored->size() != sha256_bytes || !server ||
        server->size() != sha256_bytes || iterations == scram->end() || !iterations->is_number_integer()) {
      return bad(
          fmt::format("user {}: scram_sha_256 needs base64 salt, stored_key and server_key (32 bytes) and "
                      "an integer iterations",
                      user.name));
    }
    const auto count = iterations->get<std::int64_t>();
    if (count < scram_iterations_min || count > scram_iterations_max) {
      return bad(
          fmt::format("user {}: iterations must be {} to {}", user.name, scram_iterations_min, scram_iterations_max));
    }
    user.scram_sha_256 = {std::move(*salt), static_cast<std::int32_t>(count), std::move(*stored), std::move(*server)};
    const std::string name = user.name;
    if (!users.emplace(name, std::move(user)).second) return bad(fmt::format("user {} appears twice", name));
  }
  return users;
}

std::string serialize_users(const user_map& users) {
  json list = json::array();
  for (const auto& [name, user] : users) {
    const auto& c = user.scram_sha_256;
    list.push_back({{"name", name},
                    {"scram_sha_256",
                     {{"salt", b64(c.salt)},
                      {"iterations", c.iterations},
                      {"stored_key", b64(c.stored_key)},
                      {"server_key", b64(c.server_key)}}}});
  }
  return json{{"version", users_format_version}, {"users", std::move(list)}}.dump(2) + "\n";
}

result<user_map> load_users(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return user_map{};
  return parse_users(**text, file.string());
}

result<void> add_user(const std::filesystem::path& file, const std::string& name, std::string_view password,
                      std::int32_t iterations) {
  if (auto why = check_user_name(name)) return make_error(errc::invalid_name, *why);
  if (password.empty()) return make_error(errc::invalid_argument, "the password must not be empty");
  if (iterations < scram_iterations_min || iterations > scram_iterations_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("iterations must be {} to {}", scram_iterations_min, scram_iterations_max));
  }
  auto lock = file_lock::acquire(file);
  if (!lock) return tl::unexpected(lock.error());
  auto users = load_users(file);
  if (!users) return tl::unexpected(users.error());
  if (users->contains(name)) {
    return make_error(errc::user_exists, fmt::format("user {} exists; delete it first to change its password", name));
  }
  (*users)[name] = user_record{name, new_scram_credential(password, iterations)};
  return replace_file(file, serialize_users(*users));
}

result<void> delete_user(const std::filesystem::path& file, const std::string& name) {
  auto lock = file_lock::acquire(file);
  if (!lock) return tl::unexpected(lock.error());
  auto users = load_users(file);
  if (!users) return tl::unexpected(users.error());
  if (users->erase(name) == 0) return make_error(errc::user_not_found, fmt::format("no user {}", name));
  return replace_file(file, serialize_users(*users));
}

struct user_store::impl {
  std::mutex mutex;  // core/ has no annotated mutex yet
  file_version version;
  user_map users;
};

user_store::user_store(std::filesystem::path file) : file_(std::move(file)), impl_(std::make_unique<impl>()) {}

user_store::~user_store() = default;

result<void> user_store::load() {
  std::lock_guard lock(impl_->mutex);
  const auto version = stat_version(file_);
  auto users = load_users(file_);
  if (!users) return tl::unexpected(users.error());
  impl_->users = std::move(*users);
  impl_->version = version;
  return {};
}

std::optional<scram_credential> user_store::find(const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  const auto version = stat_version(file_);
  if (version != impl_->version) {
    auto users = load_users(file_);
    if (users) {
      impl_->users = std::move(*users);
      security_log.info("Kafka users reloaded", {{"file", file_.string()}, {"users", impl_->users.size()}});
    } else {
      security_log.error("Kafka users file changed but cannot be used; keeping the previous users",
                         {{"reason", users.error().message()}});
    }
    impl_->version = version;  // a broken version is reported once, not at every login
  }
  const auto it = impl_->users.find(name);
  if (it == impl_->users.end()) return std::nullopt;
  return it->second.scram_sha_256;
}

}  // namespace substrate::kafka::security
