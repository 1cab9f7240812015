#include "schema/rest_api.h"

#include <array>

#include "net/io_pool.h"

namespace substrate::schema {
namespace {

using json = nlohmann::json;

net::http_response reply(int status, const json& body) {
  net::http_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.set_header("Content-Type", std::string(content_type));
  return r;
}

net::http_response reply(const api_error& e) {
  return reply(e.http_status(), json{{"error_code", e.code}, {"message", e.message}});
}

net::http_response reply(const answer& a) {
  if (const auto* e = std::get_if<api_error>(&a)) return reply(*e);
  return reply(200, std::get<json>(a));
}

bool flag(const net::http_request& request, std::string_view name) {
  const auto value = request.query_param(name);
  return value && net::iequals(*value, "true");
}

// Confluent's accepted request types (kafka-compat.md 7.1), parameters ignored; none is fine too.
bool acceptable_content_type(const net::http_request& request) {
  const auto header = request.header("Content-Type");
  if (!header || header->empty()) return true;
  auto type = header->substr(0, header->find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  static constexpr std::array<std::string_view, 4> accepted = {"application/vnd.schemaregistry.v1+json",
                                                               "application/vnd.schemaregistry+json",
                                                               "application/json", "application/octet-stream"};
  for (const auto candidate : accepted) {
    if (net::iequals(type, candidate)) return true;
  }
  return false;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

bool rest_api::authorized(const net::http_request& request) const {
  if (!check_) return true;
  const auto header = request.header("Authorization");
  if (!header || header->size() < 6 || !net::iequals(header->substr(0, 6), "Basic ")) return false;
  const auto decoded = base64_decode(header->substr(6));
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  return check_(decoded->substr(0, colon), decoded->substr(colon + 1));
}

net::http_response rest_api::handle(const net::http_request& request) {
  if (!authorized(request)) {
    auto r = reply(api_error{401, "Unauthorized"});
    r.set_header("WWW-Authenticate", "Basic realm=\"schema-registry\"");
    return r;
  }
  // Split, then percent-decode each segment: a subject may hold an encoded '/'.
  std::vector<std::string> parts;
  std::string_view path = request.path;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    const auto end = path.find('/', start);
    const auto raw = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    auto decoded = net::percent_decode(raw, false);
    if (!decoded) return reply(api_error{400, "Malformed percent-escape in the path"});
    parts.push_back(std::move(*decoded));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  const auto& method = request.method;
  const auto n = parts.size();
  auto is = [&](std::size_t i, std::string_view literal) { return i < n && parts[i] == literal; };
  auto not_found = [&] { return reply(api_error{404, "HTTP 404 Not Found"}); };
  auto method_not_allowed = [&] { return reply(api_error{405, "HTTP 405 Method Not Allowed"}); };
  if ((method == "POST" || method == "PUT") && !acceptable_content_type(request)) {
    return reply(api_error{415, "HTTP 415 Unsupported Media Type"});
  }
  auto with_schema = [&](auto&& call) -> net::http_response {
    auto body = parse_schema_request(request.body);
    if (auto* e = std::get_if<api_error>(&body)) return reply(*e);
    return reply(call(std::get<schema_request>(body)));
  };
  const bool deleted = flag(request, "deleted");
  const bool permanent = flag(request, "permanent");

  if (n == 0) {
    if (method == "GET") return reply(200, json::object());
    return method_not_allowed();
  }
  if (is(0, "schemas")) {
    if (n == 2 && is(1, "types")) return method == "GET" ? reply(registry_.schema_types()) : method_not_allowed();
    if (is(1, "ids") && n >= 3) {
      if (method != "GET") return method_not_allowed();
      if (n == 3) return reply(registry_.schema_by_id(parts[2]));
      if (n == 4 && is(3, "versions")) return reply(registry_.id_versions(parts[2], deleted));
      if (n == 4 && is(3, "subjects")) {
        auto a = registry_.id_versions(parts[2], deleted);
        if (auto* e = std::get_if<api_error>(&a)) return reply(*e);
        json subjects = json::array();
        for (const auto& entry : std::get<json>(a)) {
          if (subjects.empty() || subjects.back() != entry["subject"]) subjects.push_back(entry["subject"]);
        }
        return reply(200, subjects);
      }
      if (n == 4 && is(3, "schema")) {
        auto a = registry_.schema_by_id(parts[2]);
        if (auto* e = std::get_if<api_error>(&a)) return reply(*e);
        net::http_response r;
        r.body = std::get<json>(a)["schema"].get<std::string>();
        r.set_header("Content-Type", std::string(content_type));
        return r;
      }
    }
    return not_found();
  }
  if (is(0, "subjects")) {
    if (n == 1) {
      if (method != "GET") return method_not_allowed();
      return reply(registry_.subjects(request.query_param("subjectPrefix").value_or(""), deleted));
    }
    const auto& subject = parts[1];
    if (n == 2) {
      if (method == "POST") {
        return with_schema([&](const schema_request& s) { return registry_.lookup(subject, s, deleted); });
      }
      if (method == "DELETE") return reply(registry_.delete_subject(subject, permanent));
      return method_not_allowed();
    }
    if (!is(2, "versions")) return not_found();
    if (n == 3) {
      if (method == "GET") return reply(registry_.versions(subject, deleted));
      if (method == "POST") {
        return with_schema([&](const schema_request& s) { return registry_.register_schema(subject, s); });
      }
      return method_not_allowed();
    }
    const auto& version = parts[3];
    if (n == 4) {
      if (method == "GET") return reply(registry_.version(subject, version, deleted));
      if (method == "DELETE") return reply(registry_.delete_version(subject, version, permanent));
      return method_not_allowed();
    }
    if (n == 5 && is(4, "referencedby")) {
      // Nothing can reference a version: this registry does not accept references.
      if (method != "GET") return method_not_allowed();
      auto a = registry_.version(subject, version, deleted);
      if (auto* e = std::get_if<api_error>(&a)) return reply(*e);
      return reply(200, json::array());
    }
    if (n == 5 && is(4, "schema")) {
      if (method != "GET") return method_not_allowed();
      auto a = registry_.version(subject, version, deleted);
      if (auto* e = std::get_if<api_error>(&a)) return reply(*e);
      net::http_response r;
      r.body = std::get<json>(a)["schema"].get<std::string>();
      r.set_header("Content-Type", std::string(content_type));
      return r;
    }
    return not_found();
  }
  if (is(0, "config")) {
    std::optional<std::string> subject;
    if (n == 2) subject = parts[1];
    if (n > 2) return not_found();
    if (method == "GET") return reply(registry_.get_config(subject, flag(request, "defaultToGlobal")));
    if (method == "PUT") return reply(registry_.put_config(subject, request.body));
    if (method == "DELETE" && subject) return reply(registry_.delete_config(*subject));
    return method_not_allowed();
  }
  if (is(0, "compatibility") && is(1, "subjects") && n >= 4 && is(3, "versions") && n <= 5) {
    if (method != "POST") return method_not_allowed();
    std::optional<std::string_view> version;
    if (n == 5) version = parts[4];
    const bool verbose = flag(request, "verbose");
    return with_schema([&](const schema_request& s) { return registry_.check(parts[2], version, s, verbose); });
  }
  if (is(0, "mode") && n <= 2) {
    if (method == "GET") return reply(200, json{{"mode", "READWRITE"}});
    return method_not_allowed();
  }
  return not_found();
}

void add_routes(net::router& routes, rest_api& api, boost::asio::thread_pool& blocking) {
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    for (const char* pattern : {"/", "/{path*}"}) {
      routes.add(method, pattern,
                 [&api, &blocking](net::http_request& request) -> boost::asio::awaitable<net::http_response> {
                   auto work = [&api, &request] { return api.handle(request); };
                   co_return co_await net::run_blocking(blocking, std::move(work));
                 });
    }
  }
}

}  // namespace substrate::schema
