#pragma once
// SCRAM-SHA-256 credentials (RFC 5802, RFC 7677) and the few primitives around them, all on
// OpenSSL: PBKDF2-HMAC-SHA-256, HMAC-SHA-256, SHA-256, CRYPTO_memcmp, RAND_bytes, base64.
//
// A credential is what the broker stores per user instead of a password: the salt, the
// iteration count, StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key"), SaltedPassword = PBKDF2(password, salt, i)
// (spec kafka-compat.md 5.6). PLAIN verifies a password by deriving the same StoredKey.
//
// Plain values and pure functions; any thread. Deriving a credential costs `iterations` HMACs
// (about a millisecond per 4096): callers on a shard run it on the blocking pool.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace substrate::kafka::security {

using byte_string = std::vector<std::uint8_t>;

// Kafka's minimum for SCRAM-SHA-256 (and kafkajs refuses fewer); also our default.
inline constexpr std::int32_t scram_iterations_min = 4096;
inline constexpr std::int32_t scram_iterations_max = 1'000'000;
inline constexpr std::size_t scram_salt_bytes = 32;
inline constexpr std::size_t sha256_bytes = 32;

struct scram_credential {
  byte_string salt;
  std::int32_t iterations = 0;
  byte_string stored_key;  // sha256_bytes
  byte_string server_key;  // sha256_bytes
  friend bool operator==(const scram_credential&, const scram_credential&) = default;
};

// The credential of `password` with this salt and iteration count.
[[nodiscard]] scram_credential derive_scram_credential(std::string_view password, std::span<const std::uint8_t> salt,
                                                       std::int32_t iterations);
// The same with a fresh random salt (throws std::runtime_error if the RNG fails).
[[nodiscard]] scram_credential new_scram_credential(std::string_view password,
                                                    std::int32_t iterations = scram_iterations_min);
// Whether `password` derives `credential`'s StoredKey; the comparison is constant-time.
[[nodiscard]] bool verify_password(const scram_credential& credential, std::string_view password);

[[nodiscard]] byte_string hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);
[[nodiscard]] byte_string sha256(std::span<const std::uint8_t> data);
// Constant-time equality of two byte strings (false when the lengths differ).
[[nodiscard]] bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Cryptographically random bytes; throws std::runtime_error if OpenSSL's RNG fails.
[[nodiscard]] byte_string random_bytes(std::size_t count);
// A random string of `length` characters from [A-Za-z0-9] (generated passwords, nonces).
[[nodiscard]] std::string random_alphanumeric(std::size_t length);

// Standard base64 with padding (RFC 4648 section 4), as SCRAM uses.
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> data);
// Decodes strict padded base64; std::nullopt on any invalid character, length or padding.
[[nodiscard]] std::optional<byte_string> base64_decode(std::string_view text);

}  // namespace substrate::kafka::security
