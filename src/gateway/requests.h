#pragma once
// What the gateway makes of a request body before it is encoded (contracts.md 3.1.3-3.1.7):
// pure functions on JSON, no I/O, so every rule is unit-tested.
//
// - Client events: the caller's identity comes from the token (user_id = sub, email = the
//   token's email) and replaces whatever the body says (fixes contracts.md 11.3).
// - Webhooks: the flat records of the reference's database triggers (2.5) pass as they are;
//   Supabase database webhooks ({"type","table","schema","record","old_record"}) on
//   auth.users and auth.sessions become the same flat records.
// - Media intents: validated field by field; the record is built from the validated fields, the
//   token's subject and a server-made request id and time, so nothing in the body can override
//   them (fixes 11.2); file names are sanitised, media types allowlisted, sizes bounded (11.5).
//
// Errors are errc::bad_request with a sentence naming the field.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "gateway/token_verifier.h"

namespace substrate::gateway {

// The body as a JSON object (the whole body: one value, nothing after it but whitespace).
[[nodiscard]] result<nlohmann::json> parse_body_object(std::string_view body);

// Binds the caller's identity to a client event (user_id = the token's sub, email = its email,
// whatever the body says: contracts.md 11.3), in one pass and without parsing the JSON here: the
// body with `"user_id":<sub>,"email":<email>` appended as the object's last members. The Avro
// encoder that parses the result takes the last of repeated keys (avro/json_encoder.h), so the
// token's identity wins over whatever the body says, and a body that is not one JSON object
// stays invalid JSON with the members added (the encoder then refuses it: avro::errc::
// invalid_json). errc::bad_request when the text does not even start with `{` and end with `}`
// (outside whitespace), errc::unauthorized when the token has no subject (an API key is not a
// user).
[[nodiscard]] result<std::string> bind_identity_text(std::string_view body, const identity& who);

struct webhook_record {
  nlohmann::json record;  // the flat record to encode (when not ignored)
  bool ignored = false;   // a database webhook that reports no identity event (see reason)
  std::string reason;
};
// `now`: RFC 3339 time for fields the database webhook does not carry (signout_time).
[[nodiscard]] result<webhook_record> shape_webhook(nlohmann::json body, std::string_view now);

struct media_policy {
  std::vector<std::string> media_types;  // exact, case-sensitive; empty: any type/subtype
  std::int64_t file_size_max = 0;        // bytes, > 0
};

[[nodiscard]] result<nlohmann::json> upload_intent(const nlohmann::json& body, const identity& who,
                                                   const media_policy& policy, const std::string& request_id,
                                                   const std::string& now);
// Download and delete intents: {user_id, file_path, request_id, request_time}.
[[nodiscard]] result<nlohmann::json> path_intent(const nlohmann::json& body, const identity& who,
                                                 const std::string& request_id, const std::string& now);

// The last path component, without control characters, 1..255 bytes of valid UTF-8, not "."
// or ".."; nullopt when nothing usable is left.
[[nodiscard]] std::optional<std::string> sanitize_file_name(std::string_view name);

// RFC 3339 UTC with whole seconds (the reference gateway's format): 2026-02-26T10:00:00Z.
[[nodiscard]] std::string rfc3339_seconds(std::int64_t unix_s);
// A random UUID v4 (OpenSSL RAND_bytes).
[[nodiscard]] std::string uuid_v4();

}  // namespace substrate::gateway
