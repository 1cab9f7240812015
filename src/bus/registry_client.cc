#include "bus/registry_client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "avro/canonical.h"

namespace substrate::bus {
namespace {

using json = nlohmann::json;
constexpr const char* content_type = "application/vnd.schemaregistry.v1+json";

std::string base64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The Confluent error of a non-2xx answer: "HTTP 404, error 40401: Subject not found".
std::string describe(int status, const std::string& body, int& code) {
  code = 0;
  std::string message;
  const auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    if (auto it = parsed.find("error_code"); it != parsed.end() && it->is_number_integer()) code = it->get<int>();
    if (auto it = parsed.find("message"); it != parsed.end() && it->is_string()) message = it->get<std::string>();
  }
  if (message.empty()) message = body.substr(0, 200);
  if (code == 0) return fmt::format("HTTP {}: {}", status, message);
  return fmt::format("HTTP {}, error {}: {}", status, code, message);
}

errc classify(int status, int code) {
  if (status >= 500) return errc::registry_unavailable;
  if (code == 40401 || code == 40402) return errc::subject_not_found;
  if (code == 40403) return errc::schema_not_found;
  if (status == 404) return errc::subject_not_found;
  return errc::registry_rejected;
}

}  // namespace

std::string encode_path_segment(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

registry_client::registry_client(registry_client_options options)
    : options_(std::move(options)), http_(options_.url, net::http_client_options{options_.timeout_ms, 16 << 20, true}) {
  if (!options_.username.empty()) authorization_ = "Basic " + base64(options_.username + ":" + options_.password);
}

registry_client::~registry_client() = default;

result<registry_client::response> registry_client::call(const std::string& method, const std::string& target,
                                                        const std::string& body) {
  net::header_list headers = {{"Accept", content_type}};
  if (!body.empty()) headers.emplace_back("Content-Type", content_type);
  if (!authorization_.empty()) headers.emplace_back("Authorization", authorization_);
  std::lock_guard lock(http_mutex_);
  auto r = http_.request(method, target, headers, body);
  if (!r) return make_error(errc::registry_unavailable, fmt::format("{}: {}", options_.url, r.error().message()));
  return response{r->status, std::move(r->body)};
}

result<std::int32_t> registry_client::id_for(const std::string& subject, const avro::schema& schema,
                                             bool register_missing) {
  const std::string text = avro::compact_json(schema);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = by_subject_schema_.find({subject, text}); it != by_subject_schema_.end()) return it->second;
  }
  const std::string body = json{{"schema", text}}.dump();
  const std::string path = "/subjects/" + encode_path_segment(subject);
  auto r = call("POST", path, body);
  if (!r) return make_error(r.error().code, fmt::format("subject {}: {}", subject, r.error().context));
  int code = 0;
  if (r->status != 200) {
    const auto what = describe(r->status, r->body, code);
    const bool missing = code == 40401 || code == 40403;
    if (!missing || !register_missing) {
      return make_error(classify(r->status, code), fmt::format("subject {}: lookup: {}", subject, what));
    }
    r = call("POST", path + "/versions", body);
    if (!r) return make_error(r.error().code, fmt::format("subject {}: {}", subject, r.error().context));
    if (r->status != 200) {
      const auto why = describe(r->status, r->body, code);
      return make_error(classify(r->status, code), fmt::format("subject {}: register: {}", subject, why));
    }
  }
  const auto parsed = json::parse(r->body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("id") || !parsed["id"].is_number_integer()) {
    return make_error(errc::invalid_registry_response,
                      fmt::format("subject {}: no integer id in {}", subject, r->body.substr(0, 200)));
  }
  const auto id = parsed["id"].get<std::int32_t>();
  std::lock_guard lock(cache_mutex_);
  by_subject_schema_[{subject, text}] = id;
  return id;
}

result<registered_schema> registry_client::latest(const std::string& subject) {
  auto r = call("GET", "/subjects/" + encode_path_segment(subject) + "/versions/latest", "");
  if (!r) return make_error(r.error().code, fmt::format("subject {}: {}", subject, r.error().context));
  if (r->status != 200) {
    int code = 0;
    const auto what = describe(r->status, r->body, code);
    return make_error(classify(r->status, code), fmt::format("subject {}: latest version: {}", subject, what));
  }
  const auto parsed = json::parse(r->body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("id") || !parsed["id"].is_number_integer() ||
      !parsed.contains("schema") || !parsed["schema"].is_string()) {
    return make_error(errc::invalid_registry_response,
                      fmt::format("subject {}: latest version: no id or schema in the answer", subject));
  }
  if (parsed.contains("schemaType") && parsed["schemaType"] != "AVRO") {
    return make_error(errc::invalid_registry_response,
                      fmt::format("subject {}: latest version is not an Avro schema", subject));
  }
  registered_schema out;
  out.id = parsed["id"].get<std::int32_t>();
  out.version = parsed.value("version", 0);
  auto s = avro::schema::parse(parsed["schema"].get<std::string>());
  if (!s) {
    return make_error(errc::invalid_registry_response,
                      fmt::format("subject {}: schema id {}: {}", subject, out.id, s.error().message()));
  }
  out.schema = std::make_shared<const avro::schema>(std::move(*s));
  std::lock_guard lock(cache_mutex_);
  by_id_.try_emplace(out.id, out.schema);
  by_subject_schema_[{subject, avro::compact_json(*out.schema)}] = out.id;
  return out;
}

result<std::shared_ptr<const avro::schema>> registry_client::schema_by_id(std::int32_t id) {
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  }
  auto r = call("GET", fmt::format("/schemas/ids/{}", id), "");
  if (!r) return make_error(r.error().code, fmt::format("schema id {}: {}", id, r.error().context));
  if (r->status != 200) {
    int code = 0;
    const auto what = describe(r->status, r->body, code);
    return make_error(classify(r->status, code), fmt::format("schema id {}: {}", id, what));
  }
  const auto parsed = json::parse(r->body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("schema") || !parsed["schema"].is_string()) {
    return make_error(errc::invalid_registry_response, fmt::format("schema id {}: no schema in the answer", id));
  }
  if (parsed.contains("schemaType") && parsed["schemaType"] != "AVRO") {
    return make_error(errc::invalid_registry_response, fmt::format("schema id {}: not an Avro schema", id));
  }
  auto s = avro::schema::parse(parsed["schema"].get<std::string>());
  if (!s) return make_error(errc::invalid_registry_response, fmt::format("schema id {}: {}", id, s.error().message()));
  auto shared = std::make_shared<const avro::schema>(std::move(*s));
  std::lock_guard lock(cache_mutex_);
  return by_id_.try_emplace(id, std::move(shared)).first->second;
}

}  // namespace substrate::bus
