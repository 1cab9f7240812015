#pragma once
// JSON Web Tokens as the platform uses them: compact JWS, HS256 with the project secret for every
// token Substrate issues (user access tokens, the anon and service_role API keys), verification
// for REST, Realtime and the gateway. ES256/RS256 verification with public keys (the gateway's
// JWKS) builds on `decode` below.
//
// Verification never trusts the header's `alg` to choose a key type: the caller names the one
// algorithm it accepts, so `alg: none` and HS256-with-a-public-key confusion are refused.
//
// Pure computations on their arguments: safe on any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth/errc.h"
#include "core/result.h"

namespace substrate::auth {

// A token split into its parts, signature not yet checked.
struct decoded_token {
  nlohmann::json header;      // an object
  nlohmann::json claims;      // an object
  std::string signing_input;  // "<header b64>.<payload b64>", what the signature covers
  std::string signature;      // raw signature bytes
};

// Splits and parses a compact JWS: three base64url parts, header and payload JSON objects,
// header `alg` a string. Limits the token to `token_bytes_max` (malformed beyond).
inline constexpr std::size_t token_bytes_max = 16 * 1024;
[[nodiscard]] result<decoded_token> decode(std::string_view token);

struct verify_options {
  std::int64_t now_s = 0;      // unix seconds, injected (tests use a fixed clock)
  std::int64_t leeway_s = 30;  // clock skew tolerated for exp / nbf / iat
  bool require_exp = false;    // API keys carry exp, but GoTrue does not require it on input
};

// Verifies an HS256 token with `secret` and checks exp/nbf/iat against `now_s`. Errors:
// malformed, unsupported_algorithm (header alg is not HS256, including "none"), bad_signature,
// expired, not_yet_valid. The header's `typ`, when present, must be "JWT".
[[nodiscard]] result<decoded_token> verify_hs256(std::string_view token, std::string_view secret,
                                                 const verify_options& options);

// Checks exp / nbf / iat of already signature-checked claims (shared by every algorithm).
[[nodiscard]] result<void> check_time_claims(const nlohmann::json& claims, const verify_options& options);

// Signs `claims` (an object) with HS256: header {"alg":"HS256","typ":"JWT"} plus `kid` if given.
[[nodiscard]] std::string sign_hs256(const nlohmann::json& claims, std::string_view secret, std::string_view kid = {});

[[nodiscard]] std::string base64url_encode(std::string_view bytes);
// Accepts unpadded base64url (padding '=' tolerated); nullopt on any other character.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace substrate::auth
