#include "auth/model.h"

#include <cctype>
#include <ctime>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "auth/jwt.h"

namespace substrate::auth {

namespace errors {
namespace {
api_error make(int status, std::string code, std::string message) {
  return api_error{status, std::move(code), std::move(message), nlohmann::json::object()};
}
}  // namespace

api_error invalid_credentials() {
  return make(400, "invalid_credentials", "Invalid login credentials");
}
api_error email_not_confirmed() {
  return make(400, "email_not_confirmed", "Email not confirmed");
}
api_error weak_password(std::int64_t length_min) {
  auto e = make(422, "weak_password", fmt::format("Password should be at least {} characters.", length_min));
  e.extra["weak_password"] = {{"reasons", nlohmann::json::array({"length"})}};
  return e;
}
api_error validation_failed(std::string message) {
  return make(400, "validation_failed", std::move(message));
}
api_error bad_json(std::string_view detail) {
  return make(400, "bad_json", fmt::format("Could not parse request body as JSON: {}", detail));
}
api_error user_already_exists() {
  return make(422, "user_already_exists", "User already registered");
}
api_error signup_disabled() {
  return make(422, "signup_disabled", "Signups not allowed for this instance");
}
api_error refresh_token_not_found() {
  return make(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
}
api_error refresh_token_already_used() {
  return make(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
}
api_error no_authorization() {
  return make(401, "no_authorization", "This endpoint requires a valid Bearer token");
}
api_error bad_jwt(std::string message) {
  return make(403, "bad_jwt", std::move(message));
}
api_error user_not_found_from_sub() {
  return make(403, "user_not_found", "User from sub claim in JWT does not exist");
}
api_error session_not_found() {
  return make(403, "session_not_found", "Session from session_id claim in JWT does not exist");
}
api_error not_admin() {
  return make(403, "not_admin", "User not allowed");
}
api_error email_exists() {
  return make(422, "email_exists", "A user with this email address has already been registered");
}
api_error user_not_found() {
  return make(404, "user_not_found", "User not found");
}
api_error user_banned() {
  return make(400, "user_banned", "User is banned");
}
api_error over_request_rate_limit() {
  return make(429, "over_request_rate_limit", "Request rate limit reached");
}
api_error unexpected_failure(std::string message) {
  return make(500, "unexpected_failure", std::move(message));
}
}  // namespace errors

nlohmann::json user_json(const user_record& user) {
  nlohmann::json out = nlohmann::json::object();
  out["id"] = user.id;
  out["aud"] = user.aud;
  out["role"] = user.role;
  out["email"] = user.email;
  const auto put = [&out](const char* name, const std::optional<std::string>& value) {
    if (value) out[name] = *value;
  };
  put("email_confirmed_at", user.email_confirmed_at);
  out["phone"] = user.phone;
  put("confirmation_sent_at", user.confirmation_sent_at);
  put("confirmed_at", user.confirmed_at);
  put("last_sign_in_at", user.last_sign_in_at);
  put("banned_until", user.banned_until);
  out["app_metadata"] = user.app_metadata;
  out["user_metadata"] = user.user_metadata;
  nlohmann::json identities = nlohmann::json::array();
  if (!user.email.empty()) {
    nlohmann::json identity = {
        {"identity_id", user.id},
        {"id", user.id},
        {"user_id", user.id},
        {"identity_data",
         {{"email", user.email},
          {"sub", user.id},
          {"email_verified", user.email_confirmed_at.has_value()},
          {"phone_verified", false}}},
        {"provider", "email"},
        {"email", user.email},
    };
    if (user.last_sign_in_at) identity["last_sign_in_at"] = *user.last_sign_in_at;
    if (user.created_at) identity["created_at"] = *user.created_at;
    if (user.updated_at) identity["updated_at"] = *user.updated_at;
    identities.push_back(std::move(identity));
  }
  out["identities"] = std::move(identities);
  put("created_at", user.created_at);
  put("updated_at", user.updated_at);
  put("deleted_at", user.deleted_at);
  out["is_anonymous"] = user.is_anonymous;
  return out;
}

nlohmann::json access_claims(const user_record& user, std::string_view session_id, std::int64_t now_s,
                             std::int64_t auth_time_s, const token_settings& settings) {
  return nlohmann::json{
      {"iss", settings.issuer},
      {"sub", user.id},
      {"aud", user.aud.empty() ? std::string("authenticated") : user.aud},
      {"exp", now_s + settings.expiry_s},
      {"iat", now_s},
      {"email", user.email},
      {"phone", user.phone},
      {"app_metadata", user.app_metadata},
      {"user_metadata", user.user_metadata},
      {"role", user.role.empty() ? std::string("authenticated") : user.role},
      {"aal", "aal1"},
      {"amr", nlohmann::json::array({{{"method", "password"}, {"timestamp", auth_time_s}}})},
      {"session_id", session_id},
      {"is_anonymous", user.is_anonymous},
  };
}

nlohmann::json session_json(std::string_view access_token, std::string_view refresh_token, std::int64_t now_s,
                            const token_settings& settings, const user_record& user) {
  return nlohmann::json{
      {"access_token", access_token},    {"token_type", "bearer"},
      {"expires_in", settings.expiry_s}, {"expires_at", now_s + settings.expiry_s},
      {"refresh_token", refresh_token},  {"user", user_json(user)},
  };
}

std::optional<std::string> normalize_email(std::string_view email) {
  if (email.empty() || email.size() > 255) return std::nullopt;
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view domain = email.substr(at + 1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.' || domain.find('.') == std::string_view::npos ||
      domain.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(email.size());
  for (const char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
    if (c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' || c == '\\' || c == '"' ||
        c == '[' || c == ']') {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  return out;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::optional<api_error> check_new_password(std::string_view password, std::int64_t length_min) {
  if (password.empty()) return errors::validation_failed("Signup requires a valid password");
  if (password.size() > 72) return errors::validation_failed("Password cannot be longer than 72 characters");
  // Characters, not bytes: count the UTF-8 lead bytes.
  std::int64_t characters = 0;
  for (const char c : password) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++characters;
  }
  if (characters < length_min) return errors::weak_password(length_min);
  return std::nullopt;
}

refresh_decision decide_refresh(const refresh_token_state& token, std::int64_t now_ms, std::int64_t reuse_interval_ms) {
  if (!token.revoked) return refresh_decision::rotate;
  if (token.parent_of_active && now_ms - token.revoked_at_ms < reuse_interval_ms) {
    return refresh_decision::reuse_active;
  }
  return refresh_decision::already_used;
}

namespace {
nlohmann::json nullable(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json signup_event(std::string_view user_id, std::string_view email, std::string_view time) {
  return {{"user_id", user_id}, {"email", email}, {"signup_time", time}};
}

nlohmann::json login_event(std::string_view user_id, std::string_view email, std::string_view time,
                           const std::optional<std::string>& user_agent, const std::optional<std::string>& ip_address) {
  return {{"user_id", user_id},
          {"email", email},
          {"login_time", time},
          {"device_id", nullptr},
          {"user_agent", nullable(user_agent)},
          {"ip_address", nullable(ip_address)}};
}

nlohmann::json signout_event(std::string_view user_id, const std::optional<std::string>& email, std::string_view time,
                             const std::optional<std::string>& user_agent,
                             const std::optional<std::string>& ip_address) {
  return {{"user_id", user_id},   {"email", nullable(email)},           {"signout_time", time},
          {"device_id", nullptr}, {"user_agent", nullable(user_agent)}, {"ip_address", nullable(ip_address)}};
}

std::string new_refresh_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string new_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0],
      b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

std::string rfc3339_us(std::int64_t unix_us) {
  std::int64_t seconds = unix_us / 1'000'000;
  std::int64_t micros = unix_us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

}  // namespace substrate::auth
