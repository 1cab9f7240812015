// The registry client and the Avro serializer against a real registry over HTTP (the REST API
// and HTTP server `substrate registry` runs, on a memory store).
#include "bus/registry_client.h"

#include <thread>

#include <gtest/gtest.h>

#include "avro/confluent.h"
#include "avro/errc.h"
#include "bus/avro_serializer.h"
#include "bus/errc.h"
#include "bus_fixture.h"

namespace substrate::bus {
namespace {

constexpr const char* user_v1 =
    R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"},)"
    R"({"name":"nick","type":["null","string"],"default":null}]})";
// v1 plus a field with a default: a v2 reader reads v1 data.
constexpr const char* user_v2 =
    R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"},)"
    R"({"name":"nick","type":["null","string"],"default":null},{"name":"age","type":"int","default":7}]})";
// Not BACKWARD compatible with v1.
constexpr const char* user_bad =
    R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"}]})";

avro::schema parse(const char* text) {
  auto s = avro::schema::parse(text);
  EXPECT_TRUE(s) << s.error().message();
  return std::move(*s);
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class registry_client_test : public ::testing::Test {
protected:
  testing::registry_server server;
  registry_client client{{server.url()}};
};

TEST_F(registry_client_test, registers_a_missing_schema_then_finds_the_same_id) {
  auto id = client.id_for("users-value", parse(user_v1), true);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_GE(*id, 1);
  // A second client (no cache) finds it by lookup.
  registry_client other({server.url()});
  auto again = other.id_for("users-value", parse(user_v1), false);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, *id);
  auto latest = other.latest("users-value");
  ASSERT_TRUE(latest) << latest.error().message();
  EXPECT_EQ(latest->id, *id);
  EXPECT_EQ(latest->version, 1);
  auto by_id = other.schema_by_id(*id);
  ASSERT_TRUE(by_id) << by_id.error().message();
  EXPECT_EQ((*by_id)->root_node().full_name, "com.example.User");
}

TEST_F(registry_client_test, errors_name_the_subject_status_and_confluent_code) {
  auto missing = client.id_for("nobody-value", parse(user_v1), false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::subject_not_found);
  EXPECT_NE(missing.error().context.find("nobody-value"), std::string::npos) << missing.error().context;
  EXPECT_NE(missing.error().context.find("40401"), std::string::npos) << missing.error().context;

  auto no_id = client.schema_by_id(4242);
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, errc::schema_not_found);
  EXPECT_NE(no_id.error().context.find("4242"), std::string::npos);
  EXPECT_NE(no_id.error().context.find("40403"), std::string::npos) << no_id.error().context;

  auto no_latest = client.latest("nobody-value");
  ASSERT_FALSE(no_latest);
  EXPECT_EQ(no_latest.error().code, errc::subject_not_found);

  ASSERT_TRUE(client.id_for("users-value", parse(user_v1), true));
  auto incompatible = client.id_for("users-value", parse(user_bad), true);
  ASSERT_FALSE(incompatible);
  EXPECT_EQ(incompatible.error().code, errc::registry_rejected);
  EXPECT_NE(incompatible.error().context.find("HTTP 409"), std::string::npos) << incompatible.error().context;
}

TEST(registry_client, an_unreachable_registry_is_unavailable) {
  registry_client client({fmt::format("http://127.0.0.1:{}", testing::free_port()), "", "", 2000});
  auto id = client.id_for("users-value", parse(user_v1), true);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, errc::registry_unavailable);
  EXPECT_NE(id.error().context.find("users-value"), std::string::npos);
  EXPECT_THROW(registry_client({"https://example.test"}), std::invalid_argument);
  EXPECT_THROW(registry_client({"http://host:99999"}), std::invalid_argument);
}

TEST(registry_client, sends_basic_auth) {
  testing::registry_server server(
      [](const std::string& user, const std::string& password) { return user == "svc" && password == "s3cret"; });
  registry_client wrong({server.url(), "svc", "nope"});
  auto denied = wrong.id_for("users-value", parse(user_v1), true);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, errc::registry_rejected);
  EXPECT_NE(denied.error().context.find("HTTP 401"), std::string::npos) << denied.error().context;
  registry_client right({server.url(), "svc", "s3cret"});
  EXPECT_TRUE(right.id_for("users-value", parse(user_v1), true));
}

TEST_F(registry_client_test, is_safe_from_many_threads) {
  std::vector<std::thread> threads;
  std::vector<std::int32_t> ids(8, -1);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      auto id = client.id_for("users-value", parse(user_v1), true);
      if (id) ids[i] = *id;
      auto s = client.schema_by_id(id ? *id : 0);
      if (!s) ids[i] = -2;
    });
  }
  for (auto& t : threads) t.join();
  for (auto id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_GE(ids[0], 1);
}

class serializer_test : public registry_client_test {
protected:
  serializer_options options() {
    serializer_options o;
    o.local_schemas.emplace("users", user_v1);
    return o;
  }
};

TEST_F(serializer_test, encodes_in_the_confluent_wire_format_and_decodes_back) {
  avro_serializer serializer(client, options());
  auto value = serializer.encode("users", R"({"nick":"bo","id":"u1"})");
  ASSERT_TRUE(value) << value.error().message();
  auto id = client.id_for("users-value", parse(user_v1), false);
  ASSERT_TRUE(id);
  // magic 0, id big-endian, then the datum: "u1" (len 2 -> 0x04), union branch 1 (0x02), "bo".
  const std::string expected_body = std::string(
      "\x04u1\x02\x04"
      "bo",
      7);
  ASSERT_EQ(value->size(), 5 + expected_body.size());
  EXPECT_EQ((*value)[0], '\0');
  auto frame = avro::parse_confluent_frame(bytes_of(*value));
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->schema_id, *id);
  EXPECT_EQ(value->substr(5), expected_body);

  // A fresh serializer (empty caches) decodes by fetching the writer schema by id.
  registry_client other({server.url()});
  avro_serializer reader(other, {});
  auto decoded = reader.decode(bytes_of(*value));
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->schema_id, *id);
  EXPECT_EQ(decoded->json, R"({"id":"u1","nick":"bo"})");
}

TEST_F(serializer_test, json_errors_name_the_field_and_the_expected_type) {
  avro_serializer serializer(client, options());
  auto wrong = serializer.encode("users", R"({"id":42})");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, avro::errc::type_mismatch);
  EXPECT_EQ(wrong.error().context.rfind("$.id: expected string", 0), 0u) << wrong.error().context;
  auto missing = serializer.encode("users", R"({"nick":null})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, avro::errc::missing_field);
  auto not_json = serializer.encode("users", "{");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code, avro::errc::invalid_json);
}

TEST_F(serializer_test, a_topic_without_a_local_schema_uses_the_latest_registered_version) {
  avro_serializer serializer(client, {});
  auto none = serializer.encode("users", R"({"id":"u1"})");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::no_schema_for_topic);
  EXPECT_NE(none.error().context.find("users-value"), std::string::npos);

  auto v1 = client.id_for("users-value", parse(user_v1), true);
  auto v2 = client.id_for("users-value", parse(user_v2), true);
  ASSERT_TRUE(v1 && v2);
  ASSERT_NE(*v1, *v2);
  avro_serializer latest(client, {});
  auto value = latest.encode("users", R"({"id":"u1"})");
  ASSERT_TRUE(value) << value.error().message();
  EXPECT_EQ(avro::parse_confluent_frame(bytes_of(*value))->schema_id, *v2);
  auto decoded = latest.decode(bytes_of(*value));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->json, R"({"id":"u1","nick":null,"age":7})");
}

TEST_F(serializer_test, decodes_old_data_with_a_newer_reader_schema) {
  avro_serializer serializer(client, options());
  auto value = serializer.encode("users", R"({"id":"u9","nick":"x"})");
  ASSERT_TRUE(value);
  auto reader = std::make_shared<const avro::schema>(parse(user_v2));
  auto decoded = serializer.decode(bytes_of(*value), reader);
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->json, R"({"id":"u9","nick":"x","age":7})");
  // Cached resolver, same answer.
  auto again = serializer.decode(bytes_of(*value), reader);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->json, decoded->json);

  auto unreadable = serializer.decode(bytes_of(*value), std::make_shared<const avro::schema>(parse(user_bad)));
  ASSERT_FALSE(unreadable);
  EXPECT_EQ(unreadable.error().code, errc::invalid_value);
}

TEST_F(serializer_test, rejects_values_that_are_not_confluent_avro) {
  avro_serializer serializer(client, options());
  for (const std::string& bad :
       {std::string(""), std::string("\x00\x00\x00", 3), std::string("\x01\x00\x00\x00\x01x", 6)}) {
    auto r = serializer.decode(bytes_of(bad));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_value);
  }
  auto unknown_id = serializer.decode(bytes_of(std::string("\x00\x00\x00\x30\x39\x02", 6)));
  ASSERT_FALSE(unknown_id);
  EXPECT_EQ(unknown_id.error().code, errc::schema_not_found);
  auto value = serializer.encode("users", R"({"id":"u1"})");
  ASSERT_TRUE(value);
  auto truncated = serializer.decode(bytes_of(value->substr(0, value->size() - 1)));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, errc::invalid_value);
}

TEST(serializer, a_local_schema_that_does_not_parse_is_refused_at_construction) {
  registry_client client({"http://127.0.0.1:1"});
  serializer_options o;
  o.local_schemas.emplace("broken", R"({"type":"record"})");
  EXPECT_THROW(avro_serializer(client, o), std::invalid_argument);
}

}  // namespace
}  // namespace substrate::bus
