#pragma once
// Who is calling: bearer JWT verification for the gateway (contracts.md 3.1.2).
//
// Accepted algorithms, each with its own key type, chosen by the verifier and never by the
// token: HS256 with the project secret (tokens of our Auth, the API keys), ES256 with an EC
// P-256 key and RS256 with an RSA key (>= 2048 bits) of a JWKS document (a real Supabase
// project's asymmetric signing keys). `alg: none`, any other algorithm, an ES256/RS256 token
// when no such key is known, an HS256 token whose signature does not match: all refused.
// exp / nbf / iat are enforced (auth::check_time_claims). There is no way to turn verification
// off: the constructor refuses a verifier without any key.
//
// Threading: immutable after construction; verify() from any thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

struct evp_pkey_st;

namespace substrate::gateway {

struct jwk {
  std::string kid;  // may be empty
  std::string alg;  // "ES256" or "RS256" (from the key type when the JWK has no alg)
  std::shared_ptr<evp_pkey_st> key;
};

// Parses a JWKS document ({"keys": [...]}, untrusted bytes). EC P-256 keys (x, y base64url, 32
// bytes each, on the curve) and RSA keys (n, e; modulus >= 2048 bits) are kept; keys of other
// types or curves, private parts and `use` other than "sig" are skipped. Errors
// (errc::invalid_jwks): not JSON, no keys array, a supported key with bad parameters, no usable
// key at all. Documents are limited to 1 MiB and 100 keys.
[[nodiscard]] result<std::vector<jwk>> parse_jwks(std::string_view json_text);

struct identity {
  std::string subject;               // `sub`, empty when the token has none (API keys)
  std::optional<std::string> email;  // `email` when a string
  std::string role;                  // `role` when a string, else empty
  std::string algorithm;             // the verified alg
};

class token_verifier {
public:
  // Throws std::invalid_argument when neither a secret nor a key is given.
  token_verifier(std::string hs256_secret, std::vector<jwk> keys, std::int64_t leeway_s = 30);

  // Verifies `token` (the text after "Bearer "). errc::unauthorized with the reason.
  [[nodiscard]] result<identity> verify(std::string_view token, std::int64_t now_s) const;

  [[nodiscard]] std::size_t key_count() const { return keys_.size(); }

private:
  std::string secret_;
  std::vector<jwk> keys_;
  std::int64_t leeway_s_;
};

// The token of an `Authorization: Bearer <jwt>` header value; nullopt without the prefix.
[[nodiscard]] std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization);

}  // namespace substrate::gateway
