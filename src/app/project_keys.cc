#include "app/project_keys.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <openssl/rand.h>
#include <sys/stat.h>

#include "app/data_dir.h"
#include "auth/jwt.h"

namespace substrate::app {
namespace {

constexpr std::int64_t ten_years_s = 10LL * 365 * 24 * 3600;

std::optional<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return std::nullopt;
  return text;
}

std::string generate_secret() {
  unsigned char bytes[48];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("cannot generate the JWT secret (OpenSSL RAND_bytes failed)");
  }
  return auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

bool verifies(const std::string& key, const std::string& secret, const std::string& role, std::int64_t now_s) {
  auto token = auth::verify_hs256(key, secret, {.now_s = now_s, .leeway_s = 0, .require_exp = true});
  if (!token) return false;
  const auto it = token->claims.find("role");
  return it != token->claims.end() && it->is_string() && it->get<std::string>() == role;
}

std::string load_or_issue_key(const std::string& path, const std::string& secret, const std::string& role,
                              std::int64_t now_s) {
  if (auto stored = read_secret_file(path); stored && verifies(*stored, secret, role, now_s)) return *stored;
  const nlohmann::json claims = {{"iss", "substrate"}, {"role", role}, {"iat", now_s}, {"exp", now_s + ten_years_s}};
  std::string key = auth::sign_hs256(claims, secret);
  write_file_atomically(path, key + "\n", 0600);
  return key;
}

}  // namespace

project_keys load_project_keys(const std::string& data_dir, const std::string& configured_secret, std::int64_t now_s) {
  const std::string dir = data_dir + "/secrets";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  project_keys keys;
  if (!configured_secret.empty()) {
    keys.jwt_secret = configured_secret;
  } else if (auto stored = read_secret_file(dir + "/jwt-secret")) {
    if (stored->size() < 32) throw std::runtime_error(dir + "/jwt-secret: the secret must be at least 32 bytes");
    keys.jwt_secret = *stored;
  } else {
    keys.jwt_secret = generate_secret();
    write_file_atomically(dir + "/jwt-secret", keys.jwt_secret + "\n", 0600);
  }
  keys.anon_key = load_or_issue_key(dir + "/anon-key", keys.jwt_secret, "anon", now_s);
  keys.service_role_key = load_or_issue_key(dir + "/service-role-key", keys.jwt_secret, "service_role", now_s);
  return keys;
}

}  // namespace substrate::app
