#pragma once
// Error codes of the gateway's own checks (routes file, JWKS, tokens, request validation).
// Produce and registry failures keep the bus's codes; the HTTP edge (service.cc) maps both.

#include <system_error>

namespace substrate::gateway {

enum class errc {
  invalid_routes = 1,  // the routes file is not the reference's YAML shape
  invalid_jwks,        // a JWKS document or one of its keys cannot be used
  unauthorized,        // a token is missing, malformed, forged, expired or of a refused algorithm
  bad_request,         // a request body that fails validation
  unavailable,         // the event sink cannot take records now (broker or registry down)
};

const std::error_category& gateway_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), gateway_category()};
}

}  // namespace substrate::gateway

template <>
struct std::is_error_code_enum<substrate::gateway::errc> : std::true_type {};
