#include "auth/password.h"

#include <crypt.h>

#include <deque>
#include <mutex>
#include <string>
#include <tuple>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace substrate::auth {
namespace {

constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;

bool verify_bcrypt(std::string_view password, const std::string& encoded) {
  // libxcrypt (Debian's libcrypt) implements $2a$/$2b$/$2y$; crypt_r is reentrant.
  const std::string input(password);
  crypt_data data{};
  const char* computed = ::crypt_r(input.c_str(), encoded.c_str(), &data);
  if (computed == nullptr || computed[0] == '*') return false;
  const std::string_view out(computed);
  return out.size() == encoded.size() && CRYPTO_memcmp(out.data(), encoded.data(), out.size()) == 0;
}

}  // namespace

result<std::string> hash_password(std::string_view password, const argon2_parameters& parameters) {
  unsigned char salt[salt_bytes];
  if (RAND_bytes(salt, sizeof salt) != 1)
    return make_error(std::make_error_code(std::errc::resource_unavailable_try_again), "no random bytes for the salt");
  const std::size_t length = argon2_encodedlen(parameters.iterations, parameters.memory_kib, parameters.parallelism,
                                               salt_bytes, hash_bytes, Argon2_id);
  std::string encoded(length, '\0');
  const int rc =
      argon2id_hash_encoded(parameters.iterations, parameters.memory_kib, parameters.parallelism, password.data(),
                            password.size(), salt, salt_bytes, hash_bytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return make_error(std::make_error_code(std::errc::not_enough_memory), argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_password(std::string_view password, const std::string& encoded) {
  if (encoded.starts_with("$argon2id$")) {
    // argon2id_verify recomputes with the stored parameters and compares in constant time.
    return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
  }
  if (encoded.starts_with("$2a$") || encoded.starts_with("$2b$") || encoded.starts_with("$2y$")) {
    return verify_bcrypt(password, encoded);
  }
  return false;
}

const std::string& dummy_hash(const argon2_parameters& parameters) {
  static std::mutex mutex;
  static std::deque<std::pair<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, std::string>> cache;
  const auto key = std::make_tuple(parameters.memory_kib, parameters.iterations, parameters.parallelism);
  std::lock_guard lock(mutex);
  for (const auto& [k, v] : cache) {
    if (k == key) return v;
  }
  unsigned char random[24];
  RAND_bytes(random, sizeof random);
  auto hash = hash_password(std::string_view(reinterpret_cast<const char*>(random), sizeof random), parameters);
  cache.emplace_back(key, hash ? *hash : std::string());
  return cache.back().second;
}

}  // namespace substrate::auth
