#include "kafka/security/scram.h"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/assert.h"

namespace substrate::kafka::security {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

byte_string hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
  byte_string out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  const auto* done = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  SUBSTRATE_ASSERT(done != nullptr, "OpenSSL HMAC-SHA-256 failed");
  out.resize(length);
  return out;
}

byte_string sha256(std::span<const std::uint8_t> data) {
  byte_string out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  // The lengths are public (32 bytes for every SHA-256 value), only the contents are secret.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

scram_credential derive_scram_credential(std::string_view password, std::span<const std::uint8_t> salt,
                                         std::int32_t iterations) {
  SUBSTRATE_ASSERT(iterations > 0, "SCRAM iterations must be positive, got {}", iterations);
  byte_string salted(sha256_bytes);
  const int ok =
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                        iterations, EVP_sha256(), static_cast<int>(salted.size()), salted.data());
  SUBSTRATE_ASSERT(ok == 1, "OpenSSL PBKDF2-HMAC-SHA-256 failed");
  scram_credential c;
  c.salt.assign(salt.begin(), salt.end());
  c.iterations = iterations;
  c.stored_key = sha256(hmac_sha256(salted, "Client Key"));
  c.server_key = hmac_sha256(salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  return c;
}

scram_credential new_scram_credential(std::string_view password, std::int32_t iterations) {
  return derive_scram_credential(password, random_bytes(scram_salt_bytes), iterations);
}

bool verify_password(const scram_credential& credential, std::string_view password) {
  if (credential.iterations <= 0) return false;
  const auto candidate = derive_scram_credential(password, credential.salt, credential.iterations);
  return equal_constant_time(candidate.stored_key, credential.stored_key);
}

byte_string random_bytes(std::size_t count) {
  byte_string out(count);
  if (count > 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return out;
}

std::string random_alphanumeric(std::size_t length) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    for (const std::uint8_t b : random_bytes(length)) {
      // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
      if (b < 248 && out.size() < length) out.push_back(alphabet[b % alphabet.size()]);
    }
  }
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<byte_string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto valid = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  };
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size()) return std::nullopt;  // '=' only in the last two places
      ++padding;
    } else if (!valid(c) || padding > 0) {
      return std::nullopt;
    }
  }
  // EVP_DecodeBlock skips whitespace and does not strip padding; validated above, so it cannot.
  byte_string out(3 * (text.size() / 4));
  const int n = EVP_DecodeBlock(out.data(), as_bytes(text).data(), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

}  // namespace substrate::kafka::security
