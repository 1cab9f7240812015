#pragma once
// The pure parts of the Auth service (supabase-compat.md 2): GoTrue's error shape, the user and
// session JSON, the access-token claims, input validation and the refresh-token reuse rule.
// No I/O: unit-tested on their own, safe on any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace substrate::auth {

// An answer other than success, as GoTrue gives it (API version 2024-01-01):
// HTTP `status`, body {"code": code, "message": message} plus `extra` members.
struct api_error {
  int status = 500;
  std::string code;
  std::string message;
  nlohmann::json extra = nlohmann::json::object();
};

// The errors of supabase-compat.md 2.1, with GoTrue's texts.
namespace errors {
api_error invalid_credentials();
api_error email_not_confirmed();
api_error weak_password(std::int64_t length_min);
api_error validation_failed(std::string message);
api_error bad_json(std::string_view detail);
api_error user_already_exists();
api_error signup_disabled();
api_error refresh_token_not_found();
api_error refresh_token_already_used();
api_error no_authorization();
api_error bad_jwt(std::string message);
api_error user_not_found_from_sub();
api_error session_not_found();
api_error not_admin();
api_error email_exists();
api_error user_not_found();
api_error user_banned();
api_error over_request_rate_limit();
api_error unexpected_failure(std::string message);
}  // namespace errors

// A row of auth.users as the service reads it; timestamps are RFC 3339 UTC strings.
struct user_record {
  std::string id;  // lower-case UUID
  std::string aud = "authenticated";
  std::string role = "authenticated";
  std::string email;
  std::string phone;
  std::string encrypted_password;  // never serialised
  std::optional<std::string> email_confirmed_at;
  std::optional<std::string> confirmed_at;
  std::optional<std::string> confirmation_sent_at;
  std::optional<std::string> last_sign_in_at;
  std::optional<std::string> created_at;
  std::optional<std::string> updated_at;
  std::optional<std::string> banned_until;
  std::optional<std::string> deleted_at;
  nlohmann::json app_metadata = nlohmann::json::object();
  nlohmann::json user_metadata = nlohmann::json::object();
  bool is_anonymous = false;
};

// The user object of supabase-compat.md 2.2 (unset timestamps omitted, one `email` identity).
[[nodiscard]] nlohmann::json user_json(const user_record& user);

struct token_settings {
  std::string issuer;  // <public url>/auth/v1
  std::int64_t expiry_s = 3600;
};

// The access-token claims of supabase-compat.md 1.4 for `user` in session `session_id`;
// `auth_time_s` is when the session was authenticated (the amr timestamp).
[[nodiscard]] nlohmann::json access_claims(const user_record& user, std::string_view session_id, std::int64_t now_s,
                                           std::int64_t auth_time_s, const token_settings& settings);

// The session JSON of supabase-compat.md 2.3.
[[nodiscard]] nlohmann::json session_json(std::string_view access_token, std::string_view refresh_token,
                                          std::int64_t now_s, const token_settings& settings, const user_record& user);

// GoTrue's e-mail check, simplified: local@domain, printable ASCII without spaces, a dotted
// domain, at most 255 bytes. Returns the address lower-cased, or nullopt.
[[nodiscard]] std::optional<std::string> normalize_email(std::string_view email);

// A canonical UUID (36 characters, hex and dashes at 8-4-4-4-12), any case.
[[nodiscard]] bool is_uuid(std::string_view text);

// Sign-up password rules: empty -> 400 validation_failed, longer than 72 bytes -> 400,
// shorter than `length_min` characters -> 422 weak_password with reasons ["length"].
[[nodiscard]] std::optional<api_error> check_new_password(std::string_view password, std::int64_t length_min);

// What a presented refresh token leads to (GoTrue's rotation with reuse detection).
enum class refresh_decision {
  rotate,        // the active token: revoke it, issue its child
  reuse_active,  // the parent of the active token, revoked within the reuse interval: answer with the active one
  already_used,  // any other revoked token: revoke the whole session's tokens
};
struct refresh_token_state {
  bool revoked = false;
  bool parent_of_active = false;   // the session's current token has this one as its parent
  std::int64_t revoked_at_ms = 0;  // when it was revoked (its updated_at)
};
[[nodiscard]] refresh_decision decide_refresh(const refresh_token_state& token, std::int64_t now_ms,
                                              std::int64_t reuse_interval_ms);

// The identity events of contracts.md 1.3 as the outbox carries them: the plain JSON of the
// Avro record (schemas/public/identity/{signup,login,signout}.events.avsc). Optional values are
// JSON null.
inline constexpr const char* signup_topic = "public.identity.signup.events";
inline constexpr const char* login_topic = "public.identity.login.events";
inline constexpr const char* signout_topic = "public.identity.signout.events";
[[nodiscard]] nlohmann::json signup_event(std::string_view user_id, std::string_view email, std::string_view time);
[[nodiscard]] nlohmann::json login_event(std::string_view user_id, std::string_view email, std::string_view time,
                                         const std::optional<std::string>& user_agent,
                                         const std::optional<std::string>& ip_address);
[[nodiscard]] nlohmann::json signout_event(std::string_view user_id, const std::optional<std::string>& email,
                                           std::string_view time, const std::optional<std::string>& user_agent,
                                           const std::optional<std::string>& ip_address);

// A new opaque refresh token (32 random bytes, base64url) and a new random (v4) UUID.
[[nodiscard]] std::string new_refresh_token();
[[nodiscard]] std::string new_uuid();

// `time_point` in microseconds since the epoch as RFC 3339 UTC with microseconds
// (2026-02-26T10:00:00.123456Z): the event timestamps and the values stored in auth tables.
[[nodiscard]] std::string rfc3339_us(std::int64_t unix_us);

}  // namespace substrate::auth
