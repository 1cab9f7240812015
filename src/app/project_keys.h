#pragma once
// The project's JWT secret and API keys (supabase-compat.md 1.4), shared by every role of a data
// dir: Auth signs user tokens with the secret; REST, Realtime and the gateway verify with it.
//
// The secret is api.jwt_secret when configured, else generated on first start (48 random bytes,
// base64url) and kept in <data_dir>/secrets/jwt-secret (mode 0600). The anon and service_role
// keys are HS256 JWTs (role, iss "substrate", iat, exp in 10 years), kept in
// <data_dir>/secrets/{anon-key,service-role-key}; they are re-issued when they no longer verify
// with the secret (the configured secret changed), so printed keys always work.

#include <cstdint>
#include <string>

namespace substrate::app {

struct project_keys {
  std::string jwt_secret;
  std::string anon_key;
  std::string service_role_key;
};

// Throws std::runtime_error naming the file when the secrets cannot be read or written.
[[nodiscard]] project_keys load_project_keys(const std::string& data_dir, const std::string& configured_secret,
                                             std::int64_t now_s);

}  // namespace substrate::app
