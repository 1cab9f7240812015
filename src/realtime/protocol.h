#pragma once
// Supabase Realtime's client protocol (supabase-compat.md section 4): Phoenix channel frames in
// both serialisations, postgres_changes bindings and their filters, token rules, and `session`,
// the per-socket state machine that turns client frames into reply frames plus effects for the
// hub (subscribe / unsubscribe / broadcast).
//
// Pure: no I/O, no clock (callers pass `now_s`), no threads. A session belongs to one socket
// and is used by one thread at a time (the socket's shard).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace substrate::realtime {

// Frame serialisation, chosen per socket by the `vsn` query parameter.
enum class vsn { v1, v2 };  // 1.0.0: JSON objects; 2.0.0: arrays [join_ref, ref, topic, event, payload]

// nullopt for an unsupported version string; an absent parameter means 1.0.0.
[[nodiscard]] std::optional<vsn> parse_vsn(std::optional<std::string_view> text);

struct frame {
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
  nlohmann::json payload = nlohmann::json::object();
};

// Errors: realtime::errc::malformed with the reason.
[[nodiscard]] result<frame> parse_frame(std::string_view text, vsn version);
[[nodiscard]] std::string encode_frame(const frame& f, vsn version);

// A postgres_changes push, `[null,null,topic,"postgres_changes",{"data":<data_json>,"ids":[...]}]`
// or its vsn 1.0.0 object, built around `data_json` (already serialised) so that one change is
// serialised once however many channels receive it. Equal, as JSON, to encode_frame of the same
// frame (join_ref and ref null).
[[nodiscard]] std::string encode_change_frame(std::string_view topic, const std::vector<std::int64_t>& ids,
                                              std::string_view data_json, vsn version);

// A vsn 2.0.0 binary "user broadcast push" (realtime-js's channel.send over the socket) as the
// equivalent text frame: event "broadcast", payload {type:"broadcast", event, payload}. Binary
// user payloads (encoding 0) are not supported: nullopt, like any malformed input.
[[nodiscard]] std::optional<frame> parse_binary_broadcast(std::string_view bytes);

// ---- postgres_changes filters: `column=op.value`, op in eq neq lt lte gt gte in ----
struct filter {
  enum class op { eq, neq, lt, lte, gt, gte, in };
  std::string column;
  op operation = op::eq;
  std::vector<std::string> values;  // one value, or the items of in.(a,b,"c,d")
};
// Errors carry the message the client sees in a system error ("invalid filter ...").
[[nodiscard]] result<filter> parse_filter(std::string_view text);
// PostgreSQL comparison of the column's text form (pgoutput's output) with the filter values,
// numerically for numeric types, booleans normalised, else by bytes. NULL matches nothing.
[[nodiscard]] bool filter_matches(const filter& f, const std::optional<std::string>& column_text,
                                  std::string_view type_name);

// For the hub's index of eq/in filters: true when, for a column of this type, filter equality is
// equality of filter_index_key() of the texts (plus an exact filter_matches check); false for
// numbers and booleans, which have several spellings of one value ("1.0" = "1", "t" = "true").
[[nodiscard]] bool filter_equality_is_textual(std::string_view type_name);
// The bucket of a value in that index: ASCII lower case (uuid compares case-insensitively).
[[nodiscard]] std::string filter_index_key(std::string_view text);

struct binding {
  std::string event;  // upper-cased: INSERT, UPDATE, DELETE or *
  std::string schema;
  std::string table;
  std::optional<filter> where;  // parsed filter; unset when absent
  bool usable = true;           // false when the filter did not parse: the binding never fires
  std::int64_t id = 0;
  nlohmann::json echo;  // the join entry as sent, plus "id" (the join reply element)
};
// Deterministic id of a join entry (FNV-1a of event, schema, table, filter), a positive int32.
[[nodiscard]] std::int64_t binding_id(const nlohmann::json& entry);
[[nodiscard]] bool binding_wants(const binding& b, std::string_view schema, std::string_view table,
                                 std::string_view type);

// A joined channel as the hub sees it (immutable once published; replaced on token update).
struct channel {
  std::string topic;
  std::optional<std::string> join_ref;
  std::string token;
  nlohmann::json claims;  // verified claims; "role" present
  std::string role;
  std::int64_t exp = 0;  // unix seconds
  std::vector<binding> bindings;
  bool broadcast_self = false;
  bool broadcast_ack = false;
};

// Token check for channels (4.5): HS256 with the project secret, `role` and integer `exp`
// required, not expired. The error is the join-reply reason, e.g.
// "InvalidJWTToken: Token has expired 12 seconds ago".
using token_verifier = std::function<result<nlohmann::json>(std::string_view token, std::int64_t now_s)>;
[[nodiscard]] token_verifier hs256_verifier(std::string secret);
// The reason text of a verification error (the error's context).
[[nodiscard]] std::string token_error_reason(const error& e);

// Frames that end a channel whose token expired (4.4 "Token expiry"): a system error, then
// phx_close with the channel's join_ref.
[[nodiscard]] std::vector<frame> expiry_frames(const channel& ch, std::int64_t now_s);

struct subscribe_effect {
  std::shared_ptr<const channel> ch;
};
struct unsubscribe_effect {
  std::string topic;
};
struct broadcast_effect {
  std::string topic;
  nlohmann::json payload;  // {type:"broadcast", event, payload}
  bool self = false;       // also deliver to the sending socket
};
using effect = std::variant<subscribe_effect, unsubscribe_effect, broadcast_effect>;

struct outcome {
  std::vector<frame> frames;  // to send to this socket, in order, after the effects are applied
  std::vector<effect> effects;
};

class session {
public:
  // `socket_token`: the socket's apikey, the channel token when a join carries none.
  session(vsn version, std::string socket_token, token_verifier verify);

  [[nodiscard]] vsn version() const { return version_; }
  [[nodiscard]] outcome on_frame(const frame& f, std::int64_t now_s);
  // A text message: parse errors are ignored (Phoenix drops undecodable frames).
  [[nodiscard]] outcome on_text(std::string_view text, std::int64_t now_s);
  [[nodiscard]] const std::map<std::string, std::shared_ptr<const channel>>& channels() const { return channels_; }

private:
  outcome join(const frame& f, std::int64_t now_s);
  outcome update_token(const frame& f, std::int64_t now_s);

  vsn version_;
  std::string socket_token_;
  token_verifier verify_;
  std::map<std::string, std::shared_ptr<const channel>> channels_;  // topic -> joined channel
};

}  // namespace substrate::realtime
