#pragma once
// Error codes of auth tokens (JWT decoding and verification).

#include <string>
#include <system_error>

namespace substrate::auth {

enum class errc {
  malformed = 1,          // not a compact JWS with JSON object header and payload
  unsupported_algorithm,  // header alg is not the one the verifier accepts (e.g. "none")
  bad_signature,
  expired,
  not_yet_valid,  // nbf or iat in the future beyond the leeway
};

const std::error_category& auth_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), auth_category()};
}

}  // namespace substrate::auth

template <>
struct std::is_error_code_enum<substrate::auth::errc> : std::true_type {};
