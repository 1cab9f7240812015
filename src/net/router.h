#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and parameters:
//   /api/v1/events/{key}      `{key}` matches one non-empty segment
//   /storage/{bucket}/{key*}  `{name*}` (last only) matches the rest of the path, slashes included
// Routes are tried in registration order; the first match wins. A path that matches some route
// with another method gives 405 with an Allow header; no match at all gives 404.
//
// Ownership: built at start-up, then shared read-only by every shard of a listener.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "net/http_message.h"
#include "net/websocket.h"

namespace substrate::net {

using http_handler = std::function<boost::asio::awaitable<http_response>(http_request&)>;
// Runs before every matched route of a listener (HTTP and WebSocket) on the connection's shard;
// a response refuses the request with it, nothing lets it through. It must not block.
using request_guard = std::function<std::optional<http_response>(const http_request&)>;
// Told, on the connection's shard, how each request of its route went: the answer's status and
// the seconds from routing to the answer sent (per-route metrics without a coroutine wrapped
// around every handler). It must not block.
using route_observer = std::function<void(int status, double seconds)>;

class router {
public:
  // Throws std::invalid_argument on a malformed pattern (a start-up programming error).
  router& add(std::string method, std::string pattern, http_handler handler, route_observer observer = {});
  router& add_websocket(std::string pattern, websocket_factory factory);
  // One guard per router (the Supabase listener's API-key check); replaces any previous one.
  router& set_guard(request_guard guard);
  [[nodiscard]] const request_guard& guard() const { return guard_; }

  struct match {
    const http_handler* handler = nullptr;         // set for an HTTP route
    const websocket_factory* websocket = nullptr;  // set for a WebSocket route
    const route_observer* observer = nullptr;      // the HTTP route's, when it has one
    path_parameters params;
    std::vector<std::string> allowed_methods;  // when nothing matched this method (405)
    bool bad_encoding = false;                 // a parameter had a malformed %-escape (400)
  };
  [[nodiscard]] match find(std::string_view method, std::string_view path) const;

private:
  struct segment {
    std::string text;
    enum class kind { literal, parameter, rest } type = kind::literal;
  };
  struct route {
    std::string method;
    std::vector<segment> segments;
    http_handler handler;
    websocket_factory websocket;
    route_observer observer;
  };
  static std::vector<segment> parse_pattern(const std::string& pattern);
  static bool match_route(const route& r, std::span<const std::string_view> parts, path_parameters& params,
                          bool& bad_encoding);

  std::vector<route> routes_;
  request_guard guard_;
};

}  // namespace substrate::net
