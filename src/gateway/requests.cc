#include "gateway/requests.h"

#include <algorithm>
#include <array>
#include <climits>
#include <ctime>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "core/assert.h"
#include "core/logging.h"
#include "gateway/errc.h"

namespace substrate::gateway {
namespace {

tl::unexpected<error> bad(std::string why) {
  return make_error(errc::bad_request, std::move(why));
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= text.size() && extra > 0) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// A non-empty string member, else a sentence naming it.
result<std::string> required_string(const nlohmann::json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end()) return bad(fmt::format("{}: required (a non-empty string)", name));
  if (!it->is_string()) return bad(fmt::format("{}: expected a string, got {}", name, it->type_name()));
  const auto& value = it->get_ref<const std::string&>();
  if (value.empty()) return bad(fmt::format("{}: must not be empty", name));
  return value;
}

nlohmann::json string_or_null(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return *it;
}

}  // namespace

result<nlohmann::json> parse_body_object(std::string_view body) {
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return bad("Invalid JSON structure: the body is not valid JSON");
  if (!parsed.is_object()) return bad("Invalid JSON structure: the body must be a JSON object");
  return parsed;
}

result<std::string> bind_identity_text(std::string_view body, const identity& who) {
  if (who.subject.empty()) return make_error(errc::unauthorized, "the token has no subject (sub): not a user token");
  constexpr std::string_view space = " \t\r\n";  // JSON's whitespace
  const auto first = body.find_first_not_of(space);
  const auto last = body.find_last_not_of(space);
  if (first == std::string_view::npos || body[first] != '{' || body[last] != '}' || first == last) {
    return bad("Invalid JSON structure: the body must be a JSON object");
  }
  const std::string_view members = body.substr(first + 1, last - first - 1);
  std::string out;
  out.reserve(body.size() + who.subject.size() + (who.email ? who.email->size() : 0) + 32);
  out.append(body.substr(first, last - first));  // up to, without, the closing brace
  if (members.find_first_not_of(space) != std::string_view::npos) out.push_back(',');
  out.append("\"user_id\":\"");
  core::append_json_escaped(out, who.subject);
  out.append("\",\"email\":\"");
  core::append_json_escaped(out, who.email.value_or(""));
  out.append("\"}");
  return out;
}

result<webhook_record> shape_webhook(nlohmann::json body, std::string_view now) {
  webhook_record out;
  const auto type = body.find("type");
  const auto table = body.find("table");
  const bool database_webhook = type != body.end() && type->is_string() && table != body.end() && table->is_string() &&
                                (body.contains("record") || body.contains("old_record"));
  if (!database_webhook) {
    out.record = std::move(body);
    return out;
  }
  const std::string kind = type->get<std::string>();
  const std::string name = table->get<std::string>();
  const std::string schema = body.value("schema", std::string("auth"));
  const nlohmann::json record = body.value("record", nlohmann::json());
  const nlohmann::json old_record = body.value("old_record", nlohmann::json());
  if (schema == "auth" && name == "users" && kind == "INSERT") {
    if (!record.is_object()) return bad("record: expected the inserted auth.users row");
    out.record = {{"user_id", record.value("id", nlohmann::json())},
                  {"email", record.value("email", nlohmann::json())},
                  {"signup_time", record.value("created_at", nlohmann::json())}};
    return out;
  }
  if (schema == "auth" && name == "users" && kind == "UPDATE") {
    if (!record.is_object()) return bad("record: expected the updated auth.users row");
    const auto signed_in = record.value("last_sign_in_at", nlohmann::json());
    const auto before =
        old_record.is_object() ? old_record.value("last_sign_in_at", nlohmann::json()) : nlohmann::json();
    if (signed_in.is_null() || signed_in == before) {
      out.ignored = true;
      out.reason = "auth.users update without a new last_sign_in_at is not a login";
      return out;
    }
    const auto metadata = record.value("raw_user_meta_data", nlohmann::json());
    out.record = {{"user_id", record.value("id", nlohmann::json())},
                  {"email", record.value("email", nlohmann::json())},
                  {"login_time", signed_in},
                  {"device_id", string_or_null(metadata, "device_id")},
                  {"user_agent", string_or_null(metadata, "user_agent")},
                  {"ip_address", string_or_null(metadata, "ip_address")}};
    return out;
  }
  if (schema == "auth" && name == "sessions" && kind == "DELETE") {
    if (!old_record.is_object()) return bad("old_record: expected the deleted auth.sessions row");
    out.record = {{"user_id", old_record.value("user_id", nlohmann::json())},
                  {"email", nullptr},
                  {"signout_time", std::string(now)},
                  {"device_id", nullptr},
                  {"user_agent", string_or_null(old_record, "user_agent")},
                  {"ip_address", string_or_null(old_record, "ip")}};
    return out;
  }
  return bad(
      fmt::format("unsupported database webhook: {} on {}.{} (expected INSERT or UPDATE on auth.users, "
                  "DELETE on auth.sessions)",
                  kind, schema, name));
}

std::optional<std::string> sanitize_file_name(std::string_view name) {
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.front() == ' ') out.erase(out.begin());
  while (!out.empty() && (out.back() == ' ' || out.back() == '.')) out.pop_back();
  if (out.empty() || out == "." || out == ".." || out.size() > 255 || !valid_utf8(out)) return std::nullopt;
  return out;
}

result<nlohmann::json> upload_intent(const nlohmann::json& body, const identity& who, const media_policy& policy,
                                     const std::string& request_id, const std::string& now) {
  if (who.subject.empty()) return make_error(errc::unauthorized, "the token has no subject (sub)");
  auto file_name = required_string(body, "file_name");
  if (!file_name) return tl::unexpected(file_name.error());
  auto clean_name = sanitize_file_name(*file_name);
  if (!clean_name) return bad("file_name: no usable file name (1-255 bytes of UTF-8, not a path)");
  auto media_type = required_string(body, "media_type");
  if (!media_type) return tl::unexpected(media_type.error());
  if (!policy.media_types.empty() &&
      std::find(policy.media_types.begin(), policy.media_types.end(), *media_type) == policy.media_types.end()) {
    return bad(fmt::format("media_type: '{}' is not allowed", *media_type));
  }
  if (policy.media_types.empty() && (media_type->find('/') == std::string::npos || media_type->size() > 255)) {
    return bad("media_type: expected a MIME type (type/subtype)");
  }
  const auto size = body.find("file_size");
  if (size == body.end()) return bad("file_size: required (a positive integer)");
  std::int64_t bytes = 0;
  if (size->is_number_unsigned()) {
    const auto u = size->get<std::uint64_t>();
    bytes = u > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(u);
  } else if (size->is_number_integer()) {
    bytes = size->get<std::int64_t>();
  } else if (size->is_number_float()) {
    // 1.0 counts as 1 (JavaScript cannot tell them apart); 1.5 is not a size.
    const double d = size->get<double>();
    if (!(d >= -9.0e18 && d <= 9.0e18) || d != static_cast<double>(static_cast<std::int64_t>(d))) {
      return bad("file_size: expected an integer number of bytes");
    }
    bytes = static_cast<std::int64_t>(d);
  } else {
    return bad(fmt::format("file_size: expected an integer number, got {}", size->type_name()));
  }
  if (bytes <= 0) return bad("file_size: must be greater than 0");
  if (policy.file_size_max > 0 && bytes > policy.file_size_max) {
    return bad(fmt::format("file_size: {} exceeds the maximum of {} bytes", bytes, policy.file_size_max));
  }
  return nlohmann::json{{"user_id", who.subject}, {"file_name", *clean_name}, {"media_type", *media_type},
                        {"file_size", bytes},     {"request_id", request_id}, {"request_time", now}};
}

result<nlohmann::json> path_intent(const nlohmann::json& body, const identity& who, const std::string& request_id,
                                   const std::string& now) {
  if (who.subject.empty()) return make_error(errc::unauthorized, "the token has no subject (sub)");
  auto path = required_string(body, "file_path");
  if (!path) return tl::unexpected(path.error());
  if (path->size() > 1024 || !valid_utf8(*path)) return bad("file_path: at most 1024 bytes of UTF-8");
  for (const char c : *path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return bad("file_path: control characters are not allowed");
  }
  if (path->front() == '/' || path->find("..") != std::string::npos || path->find("//") != std::string::npos) {
    return bad("file_path: a relative object key without '..' or empty segments");
  }
  return nlohmann::json{
      {"user_id", who.subject}, {"file_path", *path}, {"request_id", request_id}, {"request_time", now}};
}

std::string rfc3339_seconds(std::int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::string uuid_v4() {
  // One RAND_bytes call per id was ~5% of an event's CPU (OpenSSL's DRBG takes a lock and
  // reseeds checks each call): each thread takes the bytes of 256 ids at once. The ids are
  // public (they are answered), so holding their bytes a little longer reveals nothing.
  constexpr std::size_t ids_per_fill = 256;
  thread_local std::array<unsigned char, 16 * ids_per_fill> pool{};
  thread_local std::size_t used = pool.size();
  if (used == pool.size()) {
    SUBSTRATE_ASSERT(RAND_bytes(pool.data(), static_cast<int>(pool.size())) == 1, "RAND_bytes failed");
    used = 0;
  }
  std::array<unsigned char, 16> bytes{};
  std::copy_n(pool.begin() + static_cast<std::ptrdiff_t>(used), bytes.size(), bytes.begin());
  used += bytes.size();
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex(36, '-');
  std::size_t out = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++out;  // the dashes are already there
    hex[out++] = digits[bytes[i] >> 4];
    hex[out++] = digits[bytes[i] & 0x0F];
  }
  return hex;
}

}  // namespace substrate::gateway
