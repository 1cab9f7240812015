#include "gateway/requests.h"

#include <set>

#include <gtest/gtest.h>

#include "avro/errc.h"
#include "avro/json_decoder.h"
#include "avro/json_encoder.h"
#include "avro/schema.h"
#include "gateway/errc.h"

namespace substrate::gateway {
namespace {

const identity ada{"2b7c1a9e-0000-4000-8000-000000000001", "ada@example.com", "authenticated", "HS256"};
const media_policy policy{{"image/png", "video/mp4"}, 1000};

TEST(requests, body_must_be_one_json_object) {
  EXPECT_TRUE(parse_body_object(R"({"a":1})"));
  EXPECT_TRUE(parse_body_object(" {} \n"));
  for (const std::string_view body : {"", "[]", "42", "\"x\"", "{", R"({"a":1} {"b":2})", "null"}) {
    auto parsed = parse_body_object(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().code, errc::bad_request);
  }
}

// bind_identity_text, judged by what matters: the Avro record the encoder makes of its result.
class identity_text : public ::testing::Test {
protected:
  void SetUp() override {
    auto parsed = avro::schema::parse(R"({"type":"record","name":"M","fields":[{"name":"user_id","type":"string"},)"
                                      R"({"name":"email","type":"string"},{"name":"message","type":"string"},)"
                                      R"({"name":"visibility","type":["null","string"],"default":null}]})");
    ASSERT_TRUE(parsed) << parsed.error().message();
    schema_ = std::make_unique<avro::schema>(std::move(*parsed));
  }
  // The record as JSON, or the encoder's error.
  result<nlohmann::json> record_of(std::string_view body, const identity& who) {
    auto text = bind_identity_text(body, who);
    if (!text) return tl::unexpected(text.error());
    avro::json_encoder encoder;
    std::string bytes;
    if (auto encoded = encoder.encode(*schema_, *text, bytes); !encoded) return tl::unexpected(encoded.error());
    std::string json;
    const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (auto decoded = avro::decode_json(*schema_, std::span(first, bytes.size()), json); !decoded) {
      return tl::unexpected(decoded.error());
    }
    return nlohmann::json::parse(json);
  }
  std::unique_ptr<avro::schema> schema_;
};

TEST_F(identity_text, the_token_identity_wins_over_the_body_in_any_position) {
  for (const std::string_view body :
       {R"({"user_id":"spoofed","email":"evil@example.com","message":"hi"})",
        R"({"message":"hi","user_id":"spoofed","email":"evil@example.com"})",
        R"(  {"message":"hi","user_id":{"nested":"object"},"email":7}  )", "{\n\"message\":\"hi\"\n}\n"}) {
    auto record = record_of(body, ada);
    ASSERT_TRUE(record) << body << ": " << record.error().message();
    EXPECT_EQ((*record)["user_id"], ada.subject) << body;
    EXPECT_EQ((*record)["email"], "ada@example.com") << body;
    EXPECT_EQ((*record)["message"], "hi") << body;
  }
  identity quoted = ada;
  quoted.email = "a\"b\\c\n@example.com";  // escaped, not injected
  auto record = record_of(R"({"message":"hi"})", quoted);
  ASSERT_TRUE(record) << record.error().message();
  EXPECT_EQ((*record)["email"], *quoted.email);
  quoted.email.reset();
  record = record_of(R"({"message":"hi"})", quoted);
  ASSERT_TRUE(record);
  EXPECT_EQ((*record)["email"], "");
}

TEST_F(identity_text, an_empty_object_gets_the_identity_and_then_misses_only_the_message) {
  auto record = record_of(" { } ", ada);
  ASSERT_FALSE(record);
  EXPECT_EQ(record.error().code, avro::errc::missing_field);
  EXPECT_NE(record.error().context.find("message"), std::string::npos) << record.error().context;
}

TEST_F(identity_text, what_is_not_one_json_object_stays_refused) {
  // Not shaped like an object at all: refused before the encoder.
  for (const std::string_view body :
       {"", "   ", "[]", "42", "\"x\"", "null", "{", "}", "[{}]", R"({"message":["x")", R"({"message")"}) {
    auto text = bind_identity_text(body, ada);
    ASSERT_FALSE(text) << body;
    EXPECT_EQ(text.error().code, errc::bad_request) << body;
  }
  // Braces outside, but not one valid object: the members added do not make it valid.
  for (const std::string_view body :
       {R"({"message":"hi",})", R"({"message":"hi"} {"b":2})", R"({"message":"hi"}})", R"({"message":"hi})",
        R"({"message":"hi\})", R"({"message":{"a":1})", R"({,})", R"({"message":"hi"} , {})"}) {
    auto record = record_of(body, ada);
    ASSERT_FALSE(record) << body;
    EXPECT_EQ(record.error().code, avro::errc::invalid_json) << body << ": " << record.error().message();
  }
  identity api_key{"", std::nullopt, "service_role", "HS256"};
  auto refused = bind_identity_text(R"({"message":"hi"})", api_key);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::unauthorized);
}

TEST(requests, flat_webhook_records_pass_unchanged) {
  const auto flat = nlohmann::json{{"user_id", "u"}, {"email", "e"}, {"login_time", "t"}, {"device_id", nullptr}};
  auto shaped = shape_webhook(flat, "2026-01-01T00:00:00Z");
  ASSERT_TRUE(shaped);
  EXPECT_FALSE(shaped->ignored);
  EXPECT_EQ(shaped->record, flat);
}

TEST(requests, supabase_database_webhooks_become_identity_records) {
  const nlohmann::json user = {{"id", "u1"},
                               {"email", "ada@example.com"},
                               {"created_at", "2026-02-21T10:00:00.123456+00:00"},
                               {"last_sign_in_at", "2026-02-21T11:00:00.5+00:00"},
                               {"raw_user_meta_data", {{"device_id", "d1"}, {"user_agent", 7}}}};
  auto signup = shape_webhook(
      {{"type", "INSERT"}, {"table", "users"}, {"schema", "auth"}, {"record", user}, {"old_record", nullptr}}, "now");
  ASSERT_TRUE(signup) << signup.error().message();
  EXPECT_EQ(signup->record,
            (nlohmann::json{
                {"user_id", "u1"}, {"email", "ada@example.com"}, {"signup_time", "2026-02-21T10:00:00.123456+00:00"}}));

  auto before = user;
  before["last_sign_in_at"] = nullptr;
  auto login = shape_webhook(
      {{"type", "UPDATE"}, {"table", "users"}, {"schema", "auth"}, {"record", user}, {"old_record", before}}, "now");
  ASSERT_TRUE(login) << login.error().message();
  EXPECT_EQ(login->record["login_time"], "2026-02-21T11:00:00.5+00:00");
  EXPECT_EQ(login->record["device_id"], "d1");
  EXPECT_TRUE(login->record["user_agent"].is_null());  // not a string in the metadata
  EXPECT_TRUE(login->record["ip_address"].is_null());

  // An update that is not a sign-in reports nothing.
  auto other = shape_webhook(
      {{"type", "UPDATE"}, {"table", "users"}, {"schema", "auth"}, {"record", user}, {"old_record", user}}, "now");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->ignored);

  const nlohmann::json session = {{"id", "s1"}, {"user_id", "u1"}, {"user_agent", "curl/8"}, {"ip", "10.0.0.1"}};
  auto signout = shape_webhook(
      {{"type", "DELETE"}, {"table", "sessions"}, {"schema", "auth"}, {"record", nullptr}, {"old_record", session}},
      "2026-02-21T12:00:00Z");
  ASSERT_TRUE(signout) << signout.error().message();
  EXPECT_EQ(signout->record, (nlohmann::json{{"user_id", "u1"},
                                             {"email", nullptr},
                                             {"signout_time", "2026-02-21T12:00:00Z"},
                                             {"device_id", nullptr},
                                             {"user_agent", "curl/8"},
                                             {"ip_address", "10.0.0.1"}}));

  auto unsupported = shape_webhook(
      {{"type", "DELETE"}, {"table", "users"}, {"schema", "auth"}, {"record", nullptr}, {"old_record", user}}, "now");
  ASSERT_FALSE(unsupported);
  EXPECT_NE(unsupported.error().context.find("DELETE on auth.users"), std::string::npos);
}

TEST(requests, upload_intents_are_built_from_validated_fields_only) {
  const auto body = nlohmann::json{{"file_name", "../../etc/cat.png"},
                                   {"media_type", "image/png"},
                                   {"file_size", 512},
                                   {"user_id", "spoofed"},
                                   {"request_id", "spoofed"},
                                   {"request_time", "1999-01-01T00:00:00Z"}};
  auto intent = upload_intent(body, ada, policy, "rid", "2026-01-01T00:00:00Z");
  ASSERT_TRUE(intent) << intent.error().message();
  EXPECT_EQ(*intent, (nlohmann::json{{"user_id", ada.subject},
                                     {"file_name", "cat.png"},
                                     {"media_type", "image/png"},
                                     {"file_size", 512},
                                     {"request_id", "rid"},
                                     {"request_time", "2026-01-01T00:00:00Z"}}));
}

TEST(requests, upload_intent_validation_names_the_field) {
  const auto base = nlohmann::json{{"file_name", "a.png"}, {"media_type", "image/png"}, {"file_size", 10}};
  struct change {
    const char* field;
    nlohmann::json value;
  };
  for (const auto& [field, value] : std::vector<change>{{"file_name", ""},
                                                        {"file_name", 5},
                                                        {"file_name", "dir/"},
                                                        {"file_name", ".."},
                                                        {"media_type", ""},
                                                        {"media_type", "text/html"},
                                                        {"file_size", 0},
                                                        {"file_size", -1},
                                                        {"file_size", "10"},
                                                        {"file_size", 1.5},
                                                        {"file_size", 1001}}) {
    auto body = base;
    body[field] = value;
    auto refused = upload_intent(body, ada, policy, "r", "t");
    ASSERT_FALSE(refused) << field << "=" << value;
    EXPECT_EQ(refused.error().code, errc::bad_request);
    EXPECT_NE(refused.error().context.find(field), std::string::npos) << refused.error().context;
  }
  auto missing = base;
  missing.erase("file_size");
  EXPECT_FALSE(upload_intent(missing, ada, policy, "r", "t"));
  auto integral_double = base;
  integral_double["file_size"] = 10.0;
  EXPECT_TRUE(upload_intent(integral_double, ada, policy, "r", "t"));
}

TEST(requests, path_intents_need_a_clean_relative_path) {
  auto ok = path_intent({{"file_path", "files/u/x.png"}, {"request_id", "spoofed"}}, ada, "rid", "now");
  ASSERT_TRUE(ok);
  EXPECT_EQ(
      *ok,
      (nlohmann::json{
          {"user_id", ada.subject}, {"file_path", "files/u/x.png"}, {"request_id", "rid"}, {"request_time", "now"}}));
  for (const auto& path : {nlohmann::json(""), nlohmann::json(3), nlohmann::json("/etc/passwd"),
                           nlohmann::json("files/../x"), nlohmann::json("a\nb")}) {
    EXPECT_FALSE(path_intent({{"file_path", path}}, ada, "r", "t")) << path;
  }
  EXPECT_FALSE(path_intent(nlohmann::json::object(), ada, "r", "t"));
}

TEST(requests, file_names_are_sanitised) {
  EXPECT_EQ(sanitize_file_name("photo.png"), "photo.png");
  EXPECT_EQ(sanitize_file_name("C:\\Users\\a\\photo.png"), "photo.png");
  EXPECT_EQ(sanitize_file_name("a\x01\x7f b.png"), "a b.png");
  EXPECT_EQ(sanitize_file_name("caf\xc3\xa9.png"), "caf\xc3\xa9.png");
  EXPECT_FALSE(sanitize_file_name("bad\xff.png"));
  EXPECT_FALSE(sanitize_file_name(std::string(300, 'a')));
  EXPECT_FALSE(sanitize_file_name("..."));
  EXPECT_FALSE(sanitize_file_name("x/"));
}

TEST(requests, times_and_ids) {
  EXPECT_EQ(rfc3339_seconds(1'772'100'000), "2026-02-26T10:00:00Z");
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const auto id = uuid_v4();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace substrate::gateway
