#pragma once
// The Confluent Schema Registry REST API (kafka-compat.md 7.1-7.2) over `registry`: routing of
// the registry's paths, content types, query parameters, and the error body
// {"error_code": N, "message": "..."} with the status of the code's first three digits.
//
// `handle` is synchronous and may block (a write waits for the broker and the read-back), so
// `add_routes` runs it on the blocking pool. Tests call `handle` directly.

#include <functional>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "net/http_message.h"
#include "net/router.h"
#include "schema/registry.h"

namespace substrate::schema {

inline constexpr std::string_view content_type = "application/vnd.schemaregistry.v1+json";

// Checks HTTP basic credentials (user, password); may block (password hashing).
using authenticator = std::function<bool(const std::string& user, const std::string& password)>;

class rest_api {
public:
  // With an authenticator, every request needs `Authorization: Basic ...` that it accepts, else
  // 401 (kafka-compat.md 7.1; kafkajs `auth: {username, password}`).
  explicit rest_api(registry& r, authenticator check = {}) : registry_(r), check_(std::move(check)) {}
  [[nodiscard]] net::http_response handle(const net::http_request& request);

private:
  [[nodiscard]] bool authorized(const net::http_request& request) const;

  registry& registry_;
  authenticator check_;
};

// Routes every method and path to `api` (after any routes already in `routes`, such as /readyz).
void add_routes(net::router& routes, rest_api& api, boost::asio::thread_pool& blocking);

}  // namespace substrate::schema
