#include "realtime/protocol.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "auth/jwt.h"
#include "realtime/errc.h"

namespace substrate::realtime {
namespace {

using json = nlohmann::json;

std::optional<std::string> ref_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return std::nullopt;
}

json ref_json(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

frame reply(const frame& request, std::string_view status, json response) {
  return frame{request.join_ref, request.ref, request.topic, "phx_reply",
               json{{"status", status}, {"response", std::move(response)}}};
}

frame error_reply(const frame& request, std::string_view reason) {
  return reply(request, "error", json{{"reason", reason}});
}

std::string channel_name(std::string_view topic) {
  constexpr std::string_view prefix = "realtime:";
  return std::string(topic.starts_with(prefix) ? topic.substr(prefix.size()) : topic);
}

bool numeric_type(std::string_view t) {
  return t == "int2" || t == "int4" || t == "int8" || t == "float4" || t == "float8" || t == "numeric" || t == "oid";
}

std::optional<long double> to_number(std::string_view s) {
  std::string copy(s);
  char* end = nullptr;
  const long double v = std::strtold(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(std::string_view s) {
  const auto u = upper(s);
  if (u == "T" || u == "TRUE" || u == "Y" || u == "YES" || u == "ON" || u == "1") return true;
  if (u == "F" || u == "FALSE" || u == "N" || u == "NO" || u == "OFF" || u == "0") return false;
  return std::nullopt;
}

int ascii_lower(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 'A' && u <= 'Z' ? u + ('a' - 'A') : u;
}

// <0, 0, >0; nullopt when the values are not comparable as the type says.
std::optional<int> compare(std::string_view column, std::string_view value, std::string_view type) {
  if (numeric_type(type)) {
    auto a = to_number(column);
    auto b = to_number(value);
    if (!a || !b) return std::nullopt;
    return *a < *b ? -1 : (*a > *b ? 1 : 0);
  }
  if (type == "bool") {
    auto a = to_bool(column);
    auto b = to_bool(value);
    if (!a || !b) return std::nullopt;
    return static_cast<int>(*a) - static_cast<int>(*b);
  }
  if (type == "uuid") {
    // Case-insensitive, without copies: this runs for every candidate binding of a change.
    const std::size_t n = std::min(column.size(), value.size());
    for (std::size_t i = 0; i < n; ++i) {
      const int a = ascii_lower(column[i]);
      const int b = ascii_lower(value[i]);
      if (a != b) return a < b ? -1 : 1;
    }
    return column.size() < value.size() ? -1 : (column.size() > value.size() ? 1 : 0);
  }
  const int c = column.compare(value);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

std::optional<vsn> parse_vsn(std::optional<std::string_view> text) {
  if (!text || text->empty() || text->starts_with("1.")) return vsn::v1;
  if (text->starts_with("2.")) return vsn::v2;
  return std::nullopt;
}

result<frame> parse_frame(std::string_view text, vsn version) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return make_error(errc::malformed, "a message is not JSON");
  frame f;
  if (version == vsn::v2) {
    if (!doc.is_array() || doc.size() != 5) {
      return make_error(errc::malformed, "a vsn 2.0.0 message is an array [join_ref, ref, topic, event, payload]");
    }
    f.join_ref = ref_of(doc[0]);
    f.ref = ref_of(doc[1]);
    if (!doc[2].is_string() || !doc[3].is_string()) return make_error(errc::malformed, "topic and event are strings");
    f.topic = doc[2].get<std::string>();
    f.event = doc[3].get<std::string>();
    f.payload = std::move(doc[4]);
  } else {
    if (!doc.is_object()) return make_error(errc::malformed, "a vsn 1.0.0 message is a JSON object");
    const auto topic = doc.find("topic");
    const auto event = doc.find("event");
    if (topic == doc.end() || event == doc.end() || !topic->is_string() || !event->is_string()) {
      return make_error(errc::malformed, "topic and event are strings");
    }
    f.topic = topic->get<std::string>();
    f.event = event->get<std::string>();
    if (auto it = doc.find("ref"); it != doc.end()) f.ref = ref_of(*it);
    if (auto it = doc.find("join_ref"); it != doc.end()) f.join_ref = ref_of(*it);
    if (auto it = doc.find("payload"); it != doc.end()) f.payload = std::move(*it);
  }
  if (!f.payload.is_object()) f.payload = json::object();
  return f;
}

std::string encode_frame(const frame& f, vsn version) {
  if (version == vsn::v2) {
    return json::array({ref_json(f.join_ref), ref_json(f.ref), f.topic, f.event, f.payload}).dump();
  }
  return json{{"topic", f.topic},
              {"event", f.event},
              {"payload", f.payload},
              {"ref", ref_json(f.ref)},
              {"join_ref", ref_json(f.join_ref)}}
      .dump();
}

std::string encode_change_frame(std::string_view topic, const std::vector<std::int64_t>& ids,
                                std::string_view data_json, vsn version) {
  const std::string topic_json = json(topic).dump();
  std::string out;
  out.reserve(data_json.size() + topic_json.size() + 96);
  out += version == vsn::v2 ? "[null,null," : R"({"event":"postgres_changes","join_ref":null,"payload":)";
  if (version == vsn::v2) {
    out += topic_json;
    out += R"(,"postgres_changes",)";
  }
  out += R"({"data":)";
  out += data_json;
  out += R"(,"ids":[)";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += "]}";
  if (version == vsn::v2) {
    out += ']';
  } else {
    out += R"(,"ref":null,"topic":)";
    out += topic_json;
    out += '}';
  }
  return out;
}

std::optional<frame> parse_binary_broadcast(std::string_view bytes) {
  // kind(3) join_ref_len ref_len topic_len event_len meta_len encoding, then the strings, then
  // the user payload.
  if (bytes.size() < 7 || static_cast<unsigned char>(bytes[0]) != 3) return std::nullopt;
  std::size_t lengths[5];
  for (int i = 0; i < 5; ++i) lengths[i] = static_cast<unsigned char>(bytes[1 + i]);
  const auto encoding = static_cast<unsigned char>(bytes[6]);
  std::size_t offset = 7;
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    if (bytes.size() - offset < lengths[i]) return std::nullopt;
    parts[i] = bytes.substr(offset, lengths[i]);
    offset += lengths[i];
  }
  if (encoding != 1) return std::nullopt;  // binary user payloads: not supported
  json user = json::parse(bytes.substr(offset), nullptr, false);
  if (user.is_discarded()) return std::nullopt;
  frame f;
  if (!parts[0].empty()) f.join_ref = std::string(parts[0]);
  if (!parts[1].empty()) f.ref = std::string(parts[1]);
  f.topic = std::string(parts[2]);
  f.event = "broadcast";
  f.payload = json{{"type", "broadcast"}, {"event", std::string(parts[3])}, {"payload", std::move(user)}};
  if (!parts[4].empty()) {
    json meta = json::parse(parts[4], nullptr, false);
    if (meta.is_object()) f.payload["meta"] = std::move(meta);
  }
  return f;
}

result<filter> parse_filter(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return make_error(errc::malformed, fmt::format("invalid filter '{}': expected column=op.value", text));
  }
  filter f;
  f.column = std::string(text.substr(0, eq));
  const auto rest = text.substr(eq + 1);
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) {
    return make_error(errc::malformed, fmt::format("invalid filter '{}': expected column=op.value", text));
  }
  const auto op = rest.substr(0, dot);
  const auto value = rest.substr(dot + 1);
  static const std::pair<std::string_view, filter::op> ops[] = {
      {"eq", filter::op::eq}, {"neq", filter::op::neq}, {"lt", filter::op::lt}, {"lte", filter::op::lte},
      {"gt", filter::op::gt}, {"gte", filter::op::gte}, {"in", filter::op::in}};
  const auto found = std::find_if(std::begin(ops), std::end(ops), [&](const auto& p) { return p.first == op; });
  if (found == std::end(ops)) {
    return make_error(
        errc::malformed,
        fmt::format("invalid filter '{}': operator '{}' is not one of eq, neq, lt, lte, gt, gte, in", text, op));
  }
  f.operation = found->second;
  if (f.operation != filter::op::in) {
    f.values.emplace_back(value);
    return f;
  }
  if (value.size() < 2 || value.front() != '(' || value.back() != ')') {
    return make_error(errc::malformed, fmt::format("invalid filter '{}': in takes in.(a,b,c)", text));
  }
  const auto items = value.substr(1, value.size() - 2);
  std::string current;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const char c = items[i];
    if (quoted) {
      if (c == '\\' && i + 1 < items.size()) {
        current.push_back(items[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        current.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      f.values.push_back(std::move(current));
      current.clear();
      was_quoted = false;
    } else {
      current.push_back(c);
    }
  }
  if (quoted) return make_error(errc::malformed, fmt::format("invalid filter '{}': unterminated quote", text));
  if (!current.empty() || was_quoted || !f.values.empty()) f.values.push_back(std::move(current));
  return f;
}

bool filter_matches(const filter& f, const std::optional<std::string>& column_text, std::string_view type_name) {
  if (!column_text) return false;
  if (f.operation == filter::op::in) {
    return std::any_of(f.values.begin(), f.values.end(), [&](const std::string& v) {
      auto c = compare(*column_text, v, type_name);
      return c && *c == 0;
    });
  }
  if (f.values.empty()) return false;
  const auto c = compare(*column_text, f.values.front(), type_name);
  if (!c) return false;
  switch (f.operation) {
    case filter::op::eq:
      return *c == 0;
    case filter::op::neq:
      return *c != 0;
    case filter::op::lt:
      return *c < 0;
    case filter::op::lte:
      return *c <= 0;
    case filter::op::gt:
      return *c > 0;
    case filter::op::gte:
      return *c >= 0;
    case filter::op::in:
      break;
  }
  return false;
}

std::int64_t binding_id(const nlohmann::json& entry) {
  std::uint32_t hash = 2166136261U;
  auto mix = [&](const json& v) {
    const std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    for (const char c : s) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 16777619U;
    }
    hash ^= 0xff;  // separator
    hash *= 16777619U;
  };
  for (const char* key : {"event", "schema", "table", "filter"}) {
    mix(entry.contains(key) ? entry.at(key) : json(nullptr));
  }
  return static_cast<std::int64_t>(hash & 0x7fffffffU);
}

bool filter_equality_is_textual(std::string_view type_name) {
  // Must agree with compare(): numbers and booleans have several spellings of one value.
  return !numeric_type(type_name) && type_name != "bool";
}

std::string filter_index_key(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(ascii_lower(c));
  return out;
}

bool binding_wants(const binding& b, std::string_view schema, std::string_view table, std::string_view type) {
  if (!b.usable) return false;
  if (b.schema != "*" && b.schema != schema) return false;
  if (b.table != "*" && b.table != table) return false;
  return b.event == "*" || b.event == type;
}

token_verifier hs256_verifier(std::string secret) {
  return [secret = std::move(secret)](std::string_view token, std::int64_t now_s) -> result<json> {
    auto decoded = auth::decode(token);
    if (!decoded) return make_error(errc::malformed, "MalformedJWT: The token provided is not a valid JWT");
    const auto& claims = decoded->claims;
    const auto role = claims.find("role");
    const auto exp = claims.find("exp");
    if (role == claims.end() || !role->is_string() || exp == claims.end() || !exp->is_number_integer()) {
      return make_error(errc::malformed, "InvalidJWTToken: Fields `role` and `exp` are required in JWT");
    }
    auto verified = auth::verify_hs256(token, secret, {.now_s = now_s, .leeway_s = 0, .require_exp = true});
    if (!verified) {
      if (verified.error().code == auth::errc::expired) {
        return make_error(errc::malformed, fmt::format("InvalidJWTToken: Token has expired {} seconds ago",
                                                       now_s - exp->get<std::int64_t>()));
      }
      if (verified.error().code == auth::errc::malformed) {
        return make_error(errc::malformed, "MalformedJWT: The token provided is not a valid JWT");
      }
      return make_error(errc::malformed, "InvalidJWTToken: Signature error");
    }
    return verified->claims;
  };
}

std::string token_error_reason(const error& e) {
  return e.context.empty() ? e.message() : e.context;
}

std::vector<frame> expiry_frames(const channel& ch, std::int64_t now_s) {
  std::vector<frame> out;
  out.push_back(frame{
      ch.join_ref, std::nullopt, ch.topic, "system",
      json{{"extension", "system"},
           {"status", "error"},
           {"message", fmt::format("Token has expired {} seconds ago", std::max<std::int64_t>(0, now_s - ch.exp))},
           {"channel", channel_name(ch.topic)}}});
  out.push_back(frame{ch.join_ref, ch.join_ref, ch.topic, "phx_close", json::object()});
  return out;
}

session::session(vsn version, std::string socket_token, token_verifier verify)
    : version_(version), socket_token_(std::move(socket_token)), verify_(std::move(verify)) {}

outcome session::on_text(std::string_view text, std::int64_t now_s) {
  auto f = parse_frame(text, version_);
  if (!f) return {};
  return on_frame(*f, now_s);
}

outcome session::on_frame(const frame& f, std::int64_t now_s) {
  outcome out;
  if (f.topic == "phoenix") {
    if (f.event == "heartbeat") out.frames.push_back(reply(f, "ok", json::object()));
    return out;
  }
  if (f.event == "phx_join") return join(f, now_s);
  if (f.event == "phx_leave") {
    if (channels_.erase(f.topic) > 0) out.effects.emplace_back(unsubscribe_effect{f.topic});
    out.frames.push_back(reply(f, "ok", json::object()));
    return out;
  }
  const auto it = channels_.find(f.topic);
  if (it == channels_.end()) return out;  // not joined: ignored
  if (f.event == "access_token") return update_token(f, now_s);
  if (f.event == "broadcast") {
    const auto& ch = *it->second;
    out.effects.emplace_back(broadcast_effect{f.topic, f.payload, ch.broadcast_self});
    if (ch.broadcast_ack && f.ref) out.frames.push_back(reply(f, "ok", json::object()));
  }
  return out;  // presence and unknown events: ignored
}

outcome session::join(const frame& f, std::int64_t now_s) {
  outcome out;
  if (f.topic.empty() || f.topic == "realtime:") {
    out.frames.push_back(error_reply(f, "TopicNameRequired: You must provide a topic name"));
    return out;
  }
  // A join replaces any channel of the same topic.
  if (channels_.erase(f.topic) > 0) out.effects.emplace_back(unsubscribe_effect{f.topic});

  const json& payload = f.payload;
  const json config = payload.contains("config") && payload["config"].is_object() ? payload["config"] : json::object();
  if (config.contains("private") && config["private"].is_boolean() && config["private"].get<bool>()) {
    out.frames.push_back(
        error_reply(f, "Unauthorized: private channels (Realtime Authorization) are not supported by this server"));
    return out;
  }
  std::string token = socket_token_;
  for (const char* key : {"access_token", "user_token"}) {
    if (payload.contains(key) && payload[key].is_string() && !payload[key].get<std::string>().empty() &&
        !payload[key].get<std::string>().starts_with("sb_")) {
      token = payload[key].get<std::string>();
      break;
    }
  }
  auto claims = verify_(token, now_s);
  if (!claims) {
    out.frames.push_back(error_reply(f, token_error_reason(claims.error())));
    return out;
  }

  auto ch = std::make_shared<channel>();
  ch->topic = f.topic;
  ch->join_ref = f.join_ref ? f.join_ref : f.ref;
  ch->token = token;
  ch->role = (*claims)["role"].get<std::string>();
  ch->exp = (*claims)["exp"].get<std::int64_t>();
  ch->claims = std::move(*claims);
  if (config.contains("broadcast") && config["broadcast"].is_object()) {
    const auto& b = config["broadcast"];
    ch->broadcast_self = b.contains("self") && b["self"].is_boolean() && b["self"].get<bool>();
    ch->broadcast_ack = b.contains("ack") && b["ack"].is_boolean() && b["ack"].get<bool>();
  }
  json echoed = json::array();
  std::vector<std::string> problems;
  if (config.contains("postgres_changes") && config["postgres_changes"].is_array()) {
    for (const auto& entry : config["postgres_changes"]) {
      if (!entry.is_object()) {
        problems.emplace_back("a postgres_changes entry is not an object");
        continue;
      }
      binding b;
      b.echo = entry;
      b.id = binding_id(entry);
      b.echo["id"] = b.id;
      auto text = [&](const char* key, const char* fallback) {
        return entry.contains(key) && entry[key].is_string() ? entry[key].get<std::string>() : std::string(fallback);
      };
      b.event = upper(text("event", ""));
      b.schema = text("schema", "public");
      b.table = text("table", "*");
      if (b.event != "INSERT" && b.event != "UPDATE" && b.event != "DELETE" && b.event != "*") {
        b.usable = false;
        problems.push_back(fmt::format("invalid event '{}': expected INSERT, UPDATE, DELETE or *", text("event", "")));
      }
      if (entry.contains("filter") && entry["filter"].is_string() && !entry["filter"].get<std::string>().empty()) {
        auto parsed = parse_filter(entry["filter"].get<std::string>());
        if (parsed) {
          b.where = std::move(*parsed);
        } else {
          b.usable = false;
          problems.push_back(parsed.error().context);
        }
      }
      echoed.push_back(b.echo);
      ch->bindings.push_back(std::move(b));
    }
  }
  channels_[f.topic] = ch;
  out.effects.emplace_back(subscribe_effect{ch});
  out.frames.push_back(reply(f, "ok", json{{"postgres_changes", echoed}}));
  if (!ch->bindings.empty()) {
    json system{{"extension", "postgres_changes"}, {"channel", channel_name(f.topic)}};
    if (problems.empty()) {
      system["status"] = "ok";
      system["message"] = "Subscribed to PostgreSQL";
    } else {
      system["status"] = "error";
      system["message"] = fmt::format("Error parsing `postgres_changes`: {}", fmt::join(problems, "; "));
    }
    out.frames.push_back(frame{ch->join_ref, std::nullopt, f.topic, "system", std::move(system)});
  }
  return out;
}

outcome session::update_token(const frame& f, std::int64_t now_s) {
  outcome out;
  const auto& current = channels_.at(f.topic);
  const auto it = f.payload.find("access_token");
  if (it == f.payload.end() || !it->is_string()) return out;
  const auto token = it->get<std::string>();
  if (token.empty() || token == current->token || token.starts_with("sb_")) return out;
  auto claims = verify_(token, now_s);
  if (!claims) {
    // Invalid or expired: the channel ends (4.3 / 4.4).
    out.frames.push_back(frame{current->join_ref, std::nullopt, f.topic, "system",
                               json{{"extension", "system"},
                                    {"status", "error"},
                                    {"message", token_error_reason(claims.error())},
                                    {"channel", channel_name(f.topic)}}});
    out.frames.push_back(frame{current->join_ref, current->join_ref, f.topic, "phx_close", json::object()});
    out.effects.emplace_back(unsubscribe_effect{f.topic});
    channels_.erase(f.topic);
    return out;
  }
  auto ch = std::make_shared<channel>(*current);
  ch->token = token;
  ch->role = (*claims)["role"].get<std::string>();
  ch->exp = (*claims)["exp"].get<std::int64_t>();
  ch->claims = std::move(*claims);
  channels_[f.topic] = ch;
  out.effects.emplace_back(subscribe_effect{ch});
  return out;
}

}  // namespace substrate::realtime
