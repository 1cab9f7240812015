#pragma once
// HTTP request and response as handlers see them. Deliberately free of Beast types so that
// services include this header, not Boost.Beast (a Beast translation unit costs ~7 s to build).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace substrate::net {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;   // upper case, as received ("GET")
  std::string target;   // raw request target ("/a/b?x=1")
  std::string path;     // target before '?', not decoded
  std::string query;    // target after '?', not decoded
  header_list headers;  // in arrival order, names as received
  std::string body;
  std::map<std::string, std::string> path_params;  // filled by the router, percent-decoded
  std::string remote_address;
  unsigned version = 11;  // 10 or 11

  // Sets `target` and splits it into `path` and `query` at the first '?'.
  void set_target(std::string_view raw_target);
  // Case-insensitive lookup of the first header with this name.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  // The first value of a query parameter, percent-decoded ('+' is a space).
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  [[nodiscard]] const std::string& param(const std::string& name) const;
};

struct http_response {
  int status = 200;
  header_list headers;
  std::string body;

  http_response& set_header(std::string name, std::string value);
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;

  static http_response json(int status, std::string body);
  static http_response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // The platform's error shape: {"error": "<code>", "message": "<sentence>"}.
  static http_response error(int status, std::string_view code, std::string_view message);
};

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
// Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
[[nodiscard]] std::string_view status_reason(int status);

}  // namespace substrate::net
