#include "net/router.h"

#include <algorithm>
#include <stdexcept>

#include <boost/container/small_vector.hpp>

namespace substrate::net {
namespace {

// The path's segments, without allocating for paths of up to 16 segments (every request's path
// is split once per request).
using path_parts = boost::container::small_vector<std::string_view, 16>;
path_parts split_path(std::string_view path) {
  path_parts parts;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

std::vector<router::segment> router::parse_pattern(const std::string& pattern) {
  if (!pattern.starts_with('/')) throw std::invalid_argument("route pattern must start with '/': " + pattern);
  std::vector<segment> segments;
  const auto parts = split_path(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    if (part.starts_with('{') && part.ends_with('}') && part.size() > 2) {
      std::string name(part.substr(1, part.size() - 2));
      if (name.ends_with('*')) {
        if (i + 1 != parts.size()) throw std::invalid_argument("{name*} must be the last segment: " + pattern);
        name.pop_back();
        segments.push_back({name, segment::kind::rest});
      } else {
        segments.push_back({name, segment::kind::parameter});
      }
    } else if (part.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument("malformed route segment in " + pattern);
    } else {
      segments.push_back({std::string(part), segment::kind::literal});
    }
  }
  return segments;
}

router& router::add(std::string method, std::string pattern, http_handler handler, route_observer observer) {
  routes_.push_back({std::move(method), parse_pattern(pattern), std::move(handler), {}, std::move(observer)});
  return *this;
}

router& router::set_guard(request_guard guard) {
  guard_ = std::move(guard);
  return *this;
}

router& router::add_websocket(std::string pattern, websocket_factory factory) {
  routes_.push_back({"GET", parse_pattern(pattern), {}, std::move(factory), {}});
  return *this;
}

bool router::match_route(const route& r, std::span<const std::string_view> parts, path_parameters& params,
                         bool& bad_encoding) {
  std::size_t i = 0;
  for (; i < r.segments.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.type == segment::kind::rest) {
      if (i >= parts.size()) return false;
      std::string joined;
      for (std::size_t j = i; j < parts.size(); ++j) {
        if (j > i) joined += '/';
        joined += parts[j];
      }
      if (joined.empty()) return false;
      auto decoded = percent_decode(joined, false);
      if (!decoded) bad_encoding = true;
      params.set(seg.text, decoded ? std::move(*decoded) : std::move(joined));
      return true;
    }
    if (i >= parts.size()) return false;
    if (seg.type == segment::kind::literal) {
      if (parts[i] != seg.text) return false;
    } else {
      if (parts[i].empty()) return false;
      auto decoded = percent_decode(parts[i], false);
      if (!decoded) bad_encoding = true;
      params.set(seg.text, decoded ? std::move(*decoded) : std::string(parts[i]));
    }
  }
  return i == parts.size();
}

router::match router::find(std::string_view method, std::string_view path) const {
  match result;  // the only object returned: built in place, its parameters filled where they stay
  const auto parts = split_path(path);
  for (const auto& r : routes_) {
    result.params.clear();
    bool bad_encoding = false;
    if (!match_route(r, parts, result.params, bad_encoding)) continue;
    // HEAD is served by GET routes (the server drops the body).
    if (r.method == method || (method == "HEAD" && r.method == "GET" && !r.websocket)) {
      result.handler = r.handler ? &r.handler : nullptr;
      result.websocket = r.websocket ? &r.websocket : nullptr;
      result.observer = r.observer ? &r.observer : nullptr;
      result.bad_encoding = bad_encoding;
      result.allowed_methods.clear();
      return result;
    }
    if (std::find(result.allowed_methods.begin(), result.allowed_methods.end(), r.method) ==
        result.allowed_methods.end()) {
      result.allowed_methods.push_back(r.method);
    }
  }
  result.params.clear();  // no route for this method: none of the tried routes' parameters
  return result;
}

}  // namespace substrate::net
