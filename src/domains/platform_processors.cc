#include "domains/platform_processors.h"

#include <simdjson.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "avro/json_decoder.h"
#include "stream/errc.h"

namespace substrate::domains {
namespace {

using json = nlohmann::ordered_json;
using stream::effects;
using stream::input_record;

constexpr const char* unified_topic = "internal.platform.unified.events";
constexpr const char* echo_topic = "internal.identity.login.echo";

// The top-level string fields of a decoded value (every field the platform handlers read is a
// string or null), read with simdjson's On-Demand parser: no document, no allocation per field
// on the per-record path (nlohmann's SAX lexer, used before, built every token char by char and
// was the processors' largest cost after malloc). The views point into this thread's parser and
// stay valid until the thread parses the next value: a handler uses them before it returns.
class fields {
public:
  static result<fields> parse(std::string_view text) {
    thread_local simdjson::ondemand::parser parser;
    thread_local std::string padded;  // simdjson reads up to SIMDJSON_PADDING bytes past the end
    padded.assign(text);
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
    fields out;
    out.values_.reserve(8);
    auto invalid = [] { return make_error(stream::errc::invalid_record, "the decoded value is not a JSON object"); };
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (parser.iterate(padded.data(), text.size(), padded.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(object) != simdjson::SUCCESS) {
      return invalid();
    }
    for (auto field : object) {
      std::string_view key;
      simdjson::ondemand::value value;
      simdjson::ondemand::json_type type;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS || field.value().get(value) != simdjson::SUCCESS ||
          value.type().get(type) != simdjson::SUCCESS) {
        return invalid();
      }
      if (type != simdjson::ondemand::json_type::string) {
        // Anything else reads as null; a nested value is skipped (and checked) by the iteration.
        out.values_.emplace_back(key, std::nullopt);
        continue;
      }
      std::string_view string;
      if (value.get_string().get(string) != simdjson::SUCCESS) return invalid();
      out.values_.emplace_back(key, string);
    }
    // Trailing content after the object (current_location is OUT_OF_BOUNDS at the end).
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return invalid();
    return out;
  }
  // The field's string; nullopt when absent, null or not a string.
  [[nodiscard]] std::optional<std::string_view> text(std::string_view name) const {
    for (const auto& [key, value] : values_) {
      if (key == name) return value;
    }
    return std::nullopt;
  }

private:
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> values_;
};

result<fields> parse_value(const input_record& r) {
  return fields::parse(r.json);
}

// A required, non-empty string field.
result<std::string> required(const fields& value, const char* field) {
  const auto text = value.text(field);
  if (!text || text->empty()) {
    return make_error(stream::errc::invalid_record, fmt::format("field {} must be a non-empty string", field));
  }
  return std::string(*text);
}

// A nullable string field: the string or null (absent and non-string count as null).
std::optional<std::string_view> nullable(const fields& value, const char* field) {
  return value.text(field);
}

// A JSON value for a nullable string: the string or null.
json json_of(std::optional<std::string_view> text) {
  if (!text) return nullptr;
  return std::string(*text);
}

// A JSON object's text written field by field (cheaper than building a json and dumping it, on
// the processors' per-record path). Values: strings, or a json that is a string or null.
class object_text {
public:
  object_text& field(std::string_view name, std::string_view value) {
    key(name);
    avro::append_json_string(text_, value);
    return *this;
  }
  object_text& field(std::string_view name, const std::string& value) { return field(name, std::string_view(value)); }
  object_text& field(std::string_view name, const char* value) { return field(name, std::string_view(value)); }
  object_text& field(std::string_view name, std::optional<std::string_view> value) {
    key(name);
    if (value) {
      avro::append_json_string(text_, *value);
    } else {
      text_ += "null";
    }
    return *this;
  }
  object_text() { text_.reserve(256); }  // grown once, not doubled from empty field by field
  std::string done() {
    text_ += text_.empty() ? "{}" : "}";
    return std::move(text_);
  }

private:
  void key(std::string_view name) {
    text_ += text_.empty() ? '{' : ',';
    avro::append_json_string(text_, name);
    text_ += ':';
  }
  std::string text_;
};

result<void> notify(effects& fx, const std::string& user_id, const std::string& event_type, std::string payload,
                    const std::string& event_time, const std::string& visibility = "broadcast",
                    const std::optional<std::string>& recipient_id = std::nullopt) {
  static const stream::row_insert statement{
      "public.user_notifications (user_id, event_type, payload, event_time, visibility, recipient_id)",
      "($1, $2, $3, $4, $5, $6)"};
  return fx.insert(statement, {user_id, event_type, std::move(payload), event_time, visibility, recipient_id});
}

result<void> ledger(effects& fx, const std::string& user_id, int amount, const std::string& event_type,
                    const std::string& description, const std::string& event_time) {
  static const stream::row_insert statement{
      "public.credit_ledger (user_id, amount, event_type, description, event_time)", "($1, $2, $3, $4, $5)"};
  return fx.insert(statement, {user_id, std::to_string(amount), event_type, description, event_time});
}

using nullable_text = std::optional<std::string_view>;

result<void> unified(effects& fx, const std::string& type, const std::string& user_id, const std::string& time,
                     nullable_text email, nullable_text device_id, nullable_text user_agent, nullable_text ip_address) {
  // The keys in jsonb's own order (shorter first, then bytewise): the outbox's payload is jsonb,
  // and PostgreSQL sorts an object's keys on input, which an ordered object makes a single pass.
  // The order of the text is not observable (jsonb keeps its own; the relay encodes by name).
  std::string event = object_text()
                          .field("email", email)
                          .field("user_id", user_id)
                          .field("event_id", fmt::format("{}_{}", user_id, time))
                          .field("device_id", device_id)
                          .field("event_time", time)
                          .field("event_type", type)
                          .field("ip_address", ip_address)
                          .field("user_agent", user_agent)
                          .done();
  return fx.emit(unified_topic, std::nullopt, event);
}

#define SUBSTRATE_TRY_ASSIGN(name, expr)                            \
  auto name##_result = (expr);                                      \
  if (!name##_result) return tl::unexpected(name##_result.error()); \
  auto name = std::move(*name##_result)

#define SUBSTRATE_TRY(expr)                                     \
  do {                                                          \
    auto try_result = (expr);                                   \
    if (!try_result) return tl::unexpected(try_result.error()); \
  } while (false)

result<void> on_login(effects& fx, const input_record& r) {
  SUBSTRATE_TRY_ASSIGN(value, parse_value(r));
  SUBSTRATE_TRY_ASSIGN(user_id, required(value, "user_id"));
  SUBSTRATE_TRY_ASSIGN(email, required(value, "email"));
  SUBSTRATE_TRY_ASSIGN(time, required(value, "login_time"));
  const auto device_id = nullable(value, "device_id");
  const auto user_agent = nullable(value, "user_agent");
  const auto ip_address = nullable(value, "ip_address");
  SUBSTRATE_TRY(notify(fx, user_id, "identity.login",
                       object_text()
                           .field("email", email)
                           .field("device_id", device_id)
                           .field("user_agent", user_agent)
                           .field("ip_address", ip_address)
                           .done(),
                       time));
  return unified(fx, "LOGIN", user_id, time, email, device_id, user_agent, ip_address);
}

result<void> on_signup(effects& fx, const input_record& r) {
  SUBSTRATE_TRY_ASSIGN(value, parse_value(r));
  SUBSTRATE_TRY_ASSIGN(user_id, required(value, "user_id"));
  SUBSTRATE_TRY_ASSIGN(email, required(value, "email"));
  SUBSTRATE_TRY_ASSIGN(time, required(value, "signup_time"));
  SUBSTRATE_TRY(notify(fx, user_id, "identity.signup", json{{"email", email}}.dump(), time));
  SUBSTRATE_TRY(ledger(fx, user_id, 2, "credit.signup_bonus", "Welcome bonus: 2 credits", time));
  SUBSTRATE_TRY(
      notify(fx, user_id, "credit.balance_changed", json{{"amount", 2}, {"reason", "signup_bonus"}}.dump(), time));
  return unified(fx, "SIGNUP", user_id, time, email, std::nullopt, std::nullopt, std::nullopt);
}

result<void> on_signout(effects& fx, const input_record& r) {
  SUBSTRATE_TRY_ASSIGN(value, parse_value(r));
  SUBSTRATE_TRY_ASSIGN(user_id, required(value, "user_id"));
  SUBSTRATE_TRY_ASSIGN(time, required(value, "signout_time"));
  const auto email = nullable(value, "email");
  const json payload = {{"email", json_of(email)},
                        {"device_id", json_of(nullable(value, "device_id"))},
                        {"user_agent", json_of(nullable(value, "user_agent"))},
                        {"ip_address", json_of(nullable(value, "ip_address"))}};
  SUBSTRATE_TRY(notify(fx, user_id, "identity.signout", payload.dump(), time));
  // contracts.md 4.3: the unified SIGNOUT carries no device fields.
  return unified(fx, "SIGNOUT", user_id, time, email, std::nullopt, std::nullopt, std::nullopt);
}

result<void> on_message(effects& fx, const input_record& r) {
  SUBSTRATE_TRY_ASSIGN(value, parse_value(r));
  SUBSTRATE_TRY_ASSIGN(user_id, required(value, "user_id"));
  SUBSTRATE_TRY_ASSIGN(time, required(value, "timestamp"));
  const std::string email(nullable(value, "email").value_or(""));
  const std::string message(nullable(value, "message").value_or(""));
  // contracts.md 4.11: visibility as sent (no validation), broadcast when empty; recipient or null.
  std::string visibility(nullable(value, "visibility").value_or(""));
  if (visibility.empty()) visibility = "broadcast";
  std::optional<std::string> recipient;
  if (const auto text = nullable(value, "recipient_id"); text && !text->empty()) recipient = std::string(*text);
  return notify(fx, user_id, "user.message", json{{"email", email}, {"message", message}}.dump(), time, visibility,
                recipient);
}

result<void> on_echo(effects& fx, const input_record& r) {
  SUBSTRATE_TRY_ASSIGN(value, parse_value(r));
  SUBSTRATE_TRY_ASSIGN(user_id, required(value, "user_id"));
  SUBSTRATE_TRY_ASSIGN(email, required(value, "email"));
  SUBSTRATE_TRY_ASSIGN(time, required(value, "login_time"));
  const json echo = {{"user_id", user_id},
                     {"email", email},
                     {"login_time", time},
                     {"device_id", json_of(nullable(value, "device_id"))},
                     {"user_agent", json_of(nullable(value, "user_agent"))},
                     {"ip_address", json_of(nullable(value, "ip_address"))}};
  return fx.emit(echo_topic, std::nullopt, echo.dump());
}

stream::processor_definition define(std::string name, std::string group, std::string topic,
                                    stream::record_handler handler) {
  stream::processor_definition d;
  d.name = std::move(name);
  d.group_id = std::move(group);
  d.handlers.emplace(std::move(topic), std::move(handler));
  // Every platform handler only adds rows (notifications, ledger entries, outbox records): the
  // runtime runs them ahead of their transaction, overlapped with the previous commit.
  d.rows_only = true;
  return d;
}

}  // namespace

std::vector<stream::processor_definition> platform_processors() {
  std::vector<stream::processor_definition> out;
  out.push_back(define("identity-login", "flink-login-consumer", "public.identity.login.events", on_login));
  out.push_back(define("identity-signup", "flink-signup-consumer", "public.identity.signup.events", on_signup));
  out.push_back(define("identity-signout", "flink-signout-consumer", "public.identity.signout.events", on_signout));
  out.push_back(define("message-consumer", "go-message-consumer", "public.user.message.events", on_message));
  out.push_back(define("login-echo", "pyflink-echo-consumer", "public.identity.login.events", on_echo));
  return out;
}

std::vector<std::string> platform_processor_names() {
  std::vector<std::string> out;
  for (const auto& d : platform_processors()) out.push_back(d.name);
  return out;
}

}  // namespace substrate::domains
