#pragma once
// HTTP request and response as handlers see them. Deliberately free of Beast types so that
// services include this header, not Boost.Beast (a Beast translation unit costs ~7 s to build).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "core/swar.h"

namespace substrate::net {

using header_list = std::vector<std::pair<std::string, std::string>>;

// A request's path parameters by name, filled by the router. A route has one to three, so a
// flat list: no node allocations per request, as a std::map made (short values stay in the
// strings' own storage).
class path_parameters {
public:
  // Adds the parameter, or replaces the value of one of that name.
  void set(std::string_view name, std::string value);
  [[nodiscard]] const std::string* find(std::string_view name) const;
  [[nodiscard]] bool contains(std::string_view name) const { return find(name) != nullptr; }
  // Throws std::out_of_range when there is no such parameter.
  [[nodiscard]] const std::string& at(std::string_view name) const;
  void clear() { entries_.clear(); }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] bool empty() const { return entries_.empty(); }

private:
  boost::container::small_vector<std::pair<std::string, std::string>, 3> entries_;
};

struct http_request {
  std::string method;   // upper case, as received ("GET")
  std::string target;   // raw request target ("/a/b?x=1")
  std::string path;     // target before '?', not decoded
  std::string query;    // target after '?', not decoded
  header_list headers;  // in arrival order, names as received
  std::string body;
  path_parameters path_params;  // filled by the router, percent-decoded
  std::string remote_address;
  unsigned version = 11;  // 10 or 11

  // Sets `target` and splits it into `path` and `query` at the first '?'.
  void set_target(std::string_view raw_target);
  // Case-insensitive lookup of the first header with this name.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  // The first value of a query parameter, percent-decoded ('+' is a space).
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  // The path parameter of that name; empty when the route has none.
  [[nodiscard]] const std::string& param(std::string_view name) const;
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

// Replaces `out` with `text`. For the request object a connection reuses: its strings already
// have the capacity, and assign() goes through the general replace (~80 instructions for a short
// string, ten times per request); only text that points into `out` itself needs it.
inline void assign_text(std::string& out, std::string_view text) {
  const std::less_equal<const char*> not_after;
  if (not_after(out.data(), text.data()) && not_after(text.data(), out.data() + out.size())) {
    out.assign(text);
    return;
  }
  out.clear();
  out.append(text.data(), text.size());
}

// ASCII case-insensitive equality, as HTTP's tokens compare (header names, media types). Inline
// and eight bytes at a time: header lookups run a few times per request.
[[nodiscard]] inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const auto word_equal = [&](std::size_t at) {
    return core::swar::ascii_lower(core::swar::load(a.data() + at)) ==
           core::swar::ascii_lower(core::swar::load(b.data() + at));
  };
  if (a.size() >= 8) {
    // Whole words, the last one overlapping its predecessor rather than a byte loop for the tail.
    for (std::size_t i = 0; i + 8 < a.size(); i += 8) {
      if (!word_equal(i)) return false;
    }
    return word_equal(a.size() - 8);
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if ((x >= 'A' && x <= 'Z' ? x | 0x20 : x) != (y >= 'A' && y <= 'Z' ? y | 0x20 : y)) return false;
  }
  return true;
}
// Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
[[nodiscard]] std::string_view status_reason(int status);

}  // namespace substrate::net
