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
// Verified tokens are cached (a client sends the same access token with every request for its
// hour) in an auth::verified_token_cache: keyed by the whole token, so only the exact bytes of a
// token that passed every check hit, and a hit checks exp / nbf / iat again against the time of
// the request, so a cached token expires when it would have. At most `cache_max` entries.
// set_keys() empties it, so a key that was withdrawn verifies nothing more.
//
// Threading: verify(), set_keys() and key_count() from any thread (the keys are an immutable
// snapshot swapped under a mutex; the cache has its own mutex).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/verified_token_cache.h"
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
// Shared with the cache of verified tokens, so a request's check copies no strings.
using shared_identity = std::shared_ptr<const identity>;

class token_verifier {
public:
  // Throws std::invalid_argument when neither a secret nor a key is given.
  token_verifier(std::string hs256_secret, std::vector<jwk> keys, std::int64_t leeway_s = 30,
                 std::size_t cache_max = 10'000);

  // Verifies `token` (the text after "Bearer "). errc::unauthorized with the reason.
  [[nodiscard]] result<shared_identity> verify(std::string_view token, std::int64_t now_s) const;

  // Replaces the JWKS keys (a refresh of gateway.jwks_url) and empties the cache.
  void set_keys(std::vector<jwk> keys);

  // Called, outside any lock of the verifier, when an ES256/RS256 token names a `kid` that no
  // key has (with the kid; empty when the token names none and no key of its alg exists): the
  // keys may have been rotated, the owner of the JWKS refreshes them. The token is refused all
  // the same. Set before the first verify().
  void on_unknown_kid(std::function<void(const std::string& kid)> hook) { unknown_kid_ = std::move(hook); }

  [[nodiscard]] std::size_t key_count() const;
  [[nodiscard]] std::size_t cached_tokens() const;

private:
  // Verifies without the cache; an accepted token's time claims go to `times`.
  [[nodiscard]] result<identity> verify_uncached(std::string_view token, std::int64_t now_s,
                                                 auth::time_claims& times) const;

  std::string secret_;
  std::int64_t leeway_s_;
  std::function<void(const std::string&)> unknown_kid_;
  mutable std::mutex keys_mutex_;
  std::shared_ptr<const std::vector<jwk>> keys_;
  mutable auth::verified_token_cache<shared_identity> cache_;
};

// The token of an `Authorization: Bearer <jwt>` header value; nullopt without the prefix.
[[nodiscard]] std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization);

}  // namespace substrate::gateway
