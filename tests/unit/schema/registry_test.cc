// The registry's REST semantics (kafka-compat.md 7.2-7.5) through rest_api::handle, without
// sockets, on a memory_store (the same record encoding and replay as the `_schemas` topic).
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/memory_store.h"
#include "schema/records.h"
#include "schema/rest_api.h"

namespace substrate::schema {
namespace {

using json = nlohmann::json;

constexpr const char* user_v1 =
    R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"}]})";
// v1 plus a field with a default: BACKWARD compatible.
constexpr const char* user_v2 =
    R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"},)"
    R"({"name":"age","type":"int","default":0}]})";
// v1 plus a field without a default: not BACKWARD compatible.
constexpr const char* user_bad =
    R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"},)"
    R"({"name":"email","type":"string"}]})";

struct response {
  int status;
  json body;
  std::string raw;
  std::string content_type;
};

class registry_test : public ::testing::Test {
protected:
  registry reg;
  memory_store store{reg};
  rest_api api{reg};

  response call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& type = "application/vnd.schemaregistry.v1+json") {
    net::http_request request;
    request.method = method;
    request.set_target(target);
    request.body = body;
    if (!type.empty()) request.headers.emplace_back("Content-Type", type);
    auto r = api.handle(request);
    response out{r.status, json::parse(r.body, nullptr, false), r.body,
                 std::string(r.header("Content-Type").value_or(""))};
    return out;
  }
  static std::string schema_body(const std::string& schema) { return json{{"schema", schema}}.dump(); }
  int register_schema(const std::string& subject, const std::string& schema) {
    auto r = call("POST", "/subjects/" + subject + "/versions", schema_body(schema));
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.value("id", -1);
  }
  static void expect_error(const response& r, int status, int code) {
    EXPECT_EQ(r.status, status) << r.raw;
    EXPECT_EQ(r.body.value("error_code", 0), code) << r.raw;
    EXPECT_TRUE(r.body.contains("message")) << r.raw;
  }
};

TEST_F(registry_test, register_assigns_global_ids_and_versions) {
  EXPECT_EQ(register_schema("a-value", user_v1), 1);
  EXPECT_EQ(register_schema("a-value", user_v2), 2);
  // The same schema under another subject keeps its global id and starts at version 1.
  EXPECT_EQ(register_schema("b-value", user_v2), 2);
  auto versions = call("GET", "/subjects/b-value/versions");
  EXPECT_EQ(versions.body, json::array({1}));
  EXPECT_EQ(call("GET", "/subjects/a-value/versions").body, json::array({1, 2}));
  auto latest = call("GET", "/subjects/a-value/versions/latest");
  EXPECT_EQ(latest.status, 200);
  EXPECT_EQ(latest.content_type, "application/vnd.schemaregistry.v1+json");
  EXPECT_EQ(latest.body["subject"], "a-value");
  EXPECT_EQ(latest.body["version"], 2);
  EXPECT_EQ(latest.body["id"], 2);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions/-1").body["version"], 2);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions/1").body["id"], 1);
  EXPECT_EQ(call("GET", "/subjects").body, json::array({"a-value", "b-value"}));
  EXPECT_EQ(call("GET", "/subjects?subjectPrefix=b").body, json::array({"b-value"}));
}

TEST_F(registry_test, identical_schemas_by_canonical_form_share_an_id_and_a_version) {
  const int id = register_schema("a-value", user_v1);
  // Whitespace, key order and {"type":"string"} for "string" do not make a new schema.
  const std::string same =
      R"({ "namespace": "com.example", "name": "User", "type": "record",
           "fields": [ { "type": {"type": "string"}, "name": "id" } ] })";
  EXPECT_EQ(register_schema("a-value", same), id);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions").body, json::array({1}));
  // The canonical compact text is what the registry returns.
  auto by_id = call("GET", "/schemas/ids/" + std::to_string(id));
  EXPECT_EQ(by_id.status, 200);
  EXPECT_EQ(by_id.body["schema"],
            R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"string"}]})");
  EXPECT_FALSE(by_id.body.contains("schemaType"));
  // An explicit schemaType AVRO is the same thing.
  auto explicit_type =
      call("POST", "/subjects/a-value/versions", json{{"schema", same}, {"schemaType", "AVRO"}}.dump());
  EXPECT_EQ(explicit_type.body["id"], id);
}

TEST_F(registry_test, lookup_finds_registered_schemas) {
  register_schema("a-value", user_v1);
  auto found = call("POST", "/subjects/a-value", schema_body(user_v1));
  EXPECT_EQ(found.status, 200) << found.raw;
  EXPECT_EQ(found.body["id"], 1);
  EXPECT_EQ(found.body["version"], 1);
  EXPECT_EQ(found.body["subject"], "a-value");
  expect_error(call("POST", "/subjects/a-value", schema_body(user_v2)), 404, 40403);
  expect_error(call("POST", "/subjects/nope", schema_body(user_v1)), 404, 40401);
  expect_error(call("POST", "/subjects/a-value", schema_body("{")), 422, 42201);
}

TEST_F(registry_test, errors_carry_confluent_codes) {
  expect_error(call("POST", "/subjects/a-value/versions", schema_body("not a schema")), 422, 42201);
  expect_error(call("POST", "/subjects/a-value/versions", R"({"schema":"{\"type\":\"record\"}"})"), 422, 42201);
  expect_error(call("POST", "/subjects/a-value/versions", R"({"nothing":1})"), 422, 42201);
  expect_error(call("POST", "/subjects/a-value/versions", "not json"), 400, 400);
  expect_error(call("POST", "/subjects/a-value/versions", json{{"schema", user_v1}, {"schemaType", "PROTOBUF"}}.dump()),
               422, 42201);
  expect_error(call("POST", "/subjects/a-value/versions", schema_body(user_v1), "text/plain"), 415, 415);
  expect_error(call("GET", "/subjects/nope/versions"), 404, 40401);
  expect_error(call("GET", "/subjects/nope/versions/latest"), 404, 40401);
  expect_error(call("GET", "/schemas/ids/99"), 404, 40403);
  expect_error(call("GET", "/schemas/ids/x"), 404, 40403);
  register_schema("a-value", user_v1);
  expect_error(call("GET", "/subjects/a-value/versions/7"), 404, 40402);
  expect_error(call("GET", "/subjects/a-value/versions/0"), 422, 42202);
  expect_error(call("GET", "/subjects/a-value/versions/abc"), 422, 42202);
  expect_error(call("GET", "/subjects/a-value/versions/2147483648"), 422, 42202);
  expect_error(call("GET", "/nowhere"), 404, 404);
}

TEST_F(registry_test, incompatible_change_is_409_and_none_allows_it) {
  register_schema("a-value", user_v1);
  auto rejected = call("POST", "/subjects/a-value/versions", schema_body(user_bad));
  expect_error(rejected, 409, 409);
  EXPECT_NE(rejected.body["message"].get<std::string>().find("a-value"), std::string::npos);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions").body, json::array({1}));
  // Compatibility test endpoints agree.
  EXPECT_EQ(
      call("POST", "/compatibility/subjects/a-value/versions/latest", schema_body(user_bad)).body["is_compatible"],
      false);
  EXPECT_EQ(call("POST", "/compatibility/subjects/a-value/versions/1", schema_body(user_v2)).body["is_compatible"],
            true);
  auto verbose = call("POST", "/compatibility/subjects/a-value/versions?verbose=true", schema_body(user_bad));
  EXPECT_EQ(verbose.body["is_compatible"], false);
  EXPECT_FALSE(verbose.body["messages"].empty());
  EXPECT_EQ(call("POST", "/compatibility/subjects/nope/versions/latest", schema_body(user_bad)).body["is_compatible"],
            true);
  expect_error(call("POST", "/compatibility/subjects/a-value/versions/9", schema_body(user_v2)), 404, 40402);
  expect_error(call("POST", "/compatibility/subjects/a-value/versions/x", schema_body(user_v2)), 422, 42202);
  // NONE on the subject lets it through.
  auto put = call("PUT", "/config/a-value", R"({"compatibility":"none"})");
  EXPECT_EQ(put.body, json({{"compatibility", "NONE"}}));
  EXPECT_EQ(register_schema("a-value", user_bad), 2);
}

TEST_F(registry_test, forward_and_transitive_levels) {
  call("PUT", "/config", R"({"compatibility":"FORWARD"})");
  register_schema("a-value", user_v1);
  // Removing a field without a default from the new schema is forward-incompatible? No: old
  // readers (v1) read new data only if new data has `id`; a schema without `id` fails.
  const std::string no_id = R"({"type":"record","name":"User","namespace":"com.example","fields":[]})";
  expect_error(call("POST", "/subjects/a-value/versions", schema_body(no_id)), 409, 409);
  // BACKWARD_TRANSITIVE checks every version, not only the latest.
  call("PUT", "/config/t-value", R"({"compatibility":"NONE"})");
  register_schema("t-value", user_v1);
  register_schema("t-value", R"({"type":"record","name":"User","namespace":"com.example","fields":[]})");
  const std::string with_default_id =
      R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"int"}]})";
  call("PUT", "/config/t-value", R"({"compatibility":"BACKWARD"})");
  // Against the latest only (no fields): a new field without default fails anyway.
  expect_error(call("POST", "/subjects/t-value/versions", schema_body(with_default_id)), 409, 409);
  const std::string string_id_default =
      R"({"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"int","default":1}]})";
  // BACKWARD: fine against the latest (no fields).
  EXPECT_EQ(
      call("POST", "/compatibility/subjects/t-value/versions", schema_body(string_id_default)).body["is_compatible"],
      true);
  call("PUT", "/config/t-value", R"({"compatibility":"BACKWARD_TRANSITIVE"})");
  // Transitive: version 1 wrote `id` as a string, which an int cannot read.
  EXPECT_EQ(
      call("POST", "/compatibility/subjects/t-value/versions", schema_body(string_id_default)).body["is_compatible"],
      false);
  expect_error(call("POST", "/subjects/t-value/versions", schema_body(string_id_default)), 409, 409);
}

TEST_F(registry_test, config_global_and_per_subject) {
  EXPECT_EQ(call("GET", "/config").body, json({{"compatibilityLevel", "BACKWARD"}}));
  expect_error(call("GET", "/config/a-value"), 404, 40408);
  EXPECT_EQ(call("GET", "/config/a-value?defaultToGlobal=true").body, json({{"compatibilityLevel", "BACKWARD"}}));
  EXPECT_EQ(call("PUT", "/config", R"({"compatibility":"FULL"})").body, json({{"compatibility", "FULL"}}));
  EXPECT_EQ(call("GET", "/config").body, json({{"compatibilityLevel", "FULL"}}));
  EXPECT_EQ(call("PUT", "/config/a-value", R"({"compatibility":"forward_transitive"})").body,
            json({{"compatibility", "FORWARD_TRANSITIVE"}}));
  EXPECT_EQ(call("GET", "/config/a-value").body, json({{"compatibilityLevel", "FORWARD_TRANSITIVE"}}));
  expect_error(call("PUT", "/config/a-value", R"({"compatibility":"SIDEWAYS"})"), 422, 42203);
  expect_error(call("PUT", "/config", R"({})"), 422, 42203);
  EXPECT_EQ(call("DELETE", "/config/a-value").body, json({{"compatibilityLevel", "FORWARD_TRANSITIVE"}}));
  expect_error(call("GET", "/config/a-value"), 404, 40408);
  expect_error(call("DELETE", "/config/a-value"), 404, 40401);
}

TEST_F(registry_test, soft_and_permanent_deletes) {
  register_schema("a-value", user_v1);
  register_schema("a-value", user_v2);
  // Permanent first is refused.
  expect_error(call("DELETE", "/subjects/a-value?permanent=true"), 404, 40405);
  expect_error(call("DELETE", "/subjects/a-value/versions/1?permanent=true"), 404, 40407);
  // Soft-delete version 2: latest is 1 again; ?deleted=true still sees 2.
  EXPECT_EQ(call("DELETE", "/subjects/a-value/versions/2").body, json(2));
  expect_error(call("DELETE", "/subjects/a-value/versions/2"), 404, 40406);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions/latest").body["version"], 1);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions").body, json::array({1}));
  EXPECT_EQ(call("GET", "/subjects/a-value/versions?deleted=true").body, json::array({1, 2}));
  expect_error(call("GET", "/subjects/a-value/versions/2"), 404, 40402);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions/2?deleted=true").body["id"], 2);
  // Re-registering the soft-deleted schema reuses its id but takes a new version.
  EXPECT_EQ(register_schema("a-value", user_v2), 2);
  EXPECT_EQ(call("GET", "/subjects/a-value/versions").body, json::array({1, 3}));
  // Soft-delete the subject.
  EXPECT_EQ(call("DELETE", "/subjects/a-value").body, json::array({1, 3}));
  expect_error(call("DELETE", "/subjects/a-value"), 404, 40404);
  expect_error(call("GET", "/subjects/a-value/versions"), 404, 40401);
  EXPECT_EQ(call("GET", "/subjects").body, json::array());
  EXPECT_EQ(call("GET", "/subjects?deleted=true").body, json::array({"a-value"}));
  EXPECT_EQ(call("GET", "/schemas/ids/1").status, 200);  // ids of soft-deleted versions still resolve
  // Then permanently.
  EXPECT_EQ(call("DELETE", "/subjects/a-value?permanent=true").body, json::array({1, 2, 3}));
  expect_error(call("GET", "/subjects/a-value/versions?deleted=true"), 404, 40401);
  expect_error(call("DELETE", "/subjects/a-value"), 404, 40401);
  expect_error(call("GET", "/schemas/ids/1"), 404, 40403);
  // Ids are never reused: the next new schema takes 3.
  EXPECT_EQ(register_schema("c-value", R"({"type":"enum","name":"E","symbols":["A"]})"), 3);
}

TEST_F(registry_test, ids_versions_raw_schema_types_and_encoded_subjects) {
  register_schema("a-value", user_v1);
  register_schema("b-value", user_v1);
  EXPECT_EQ(call("GET", "/schemas/ids/1/versions").body,
            json::parse(R"([{"subject":"a-value","version":1},{"subject":"b-value","version":1}])"));
  EXPECT_EQ(call("GET", "/schemas/ids/1/subjects").body, json::array({"a-value", "b-value"}));
  EXPECT_EQ(call("GET", "/subjects/a-value/versions/1/referencedby").body, json::array());
  expect_error(call("GET", "/subjects/a-value/versions/9/referencedby"), 404, 40402);
  auto raw = call("GET", "/subjects/a-value/versions/1/schema");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(json::parse(raw.raw)["name"], "User");
  EXPECT_EQ(call("GET", "/schemas/types").body, json::array({"AVRO"}));
  EXPECT_EQ(call("GET", "/").body, json::object());
  EXPECT_EQ(call("GET", "/mode").body, json({{"mode", "READWRITE"}}));
  // A subject with '/' and spaces arrives percent-encoded (kafkajs: encodeURIComponent).
  EXPECT_EQ(register_schema("com.example%2FUser%20x", user_v1), 1);
  EXPECT_EQ(call("GET", "/subjects/com.example%2FUser%20x/versions/latest").body["subject"], "com.example/User x");
  // Missing content type and application/json are accepted.
  EXPECT_EQ(call("POST", "/subjects/a-value", schema_body(user_v1), "").status, 200);
  EXPECT_EQ(call("POST", "/subjects/a-value", schema_body(user_v1), "application/json; charset=utf-8").status, 200);
}

TEST_F(registry_test, replaying_the_log_rebuilds_the_same_state) {
  register_schema("a-value", user_v1);
  register_schema("a-value", user_v2);
  call("PUT", "/config/a-value", R"({"compatibility":"FULL"})");
  call("DELETE", "/subjects/a-value/versions/1");
  const auto log = store.log();
  // Confluent's key layout, property order included.
  EXPECT_EQ(log.front().key, R"({"keytype":"SCHEMA","subject":"a-value","version":1,"magic":1})");
  EXPECT_EQ(json::parse(*log.front().value)["deleted"], false);

  registry replayed;
  for (const auto& r : log) replayed.apply(r);
  memory_store replay_store(replayed);
  rest_api replay_api(replayed);
  net::http_request request;
  request.method = "GET";
  request.set_target("/subjects/a-value/versions?deleted=true");
  EXPECT_EQ(replay_api.handle(request).body, "[1,2]");
  request.set_target("/config/a-value");
  EXPECT_EQ(replay_api.handle(request).body, R"({"compatibilityLevel":"FULL"})");
  request.set_target("/subjects/a-value/versions/latest");
  EXPECT_EQ(json::parse(replay_api.handle(request).body)["id"], 2);
  // A new schema after replay continues the id sequence.
  request.method = "POST";
  request.set_target("/subjects/z/versions");
  request.body = json{{"schema", R"("string")"}}.dump();
  EXPECT_EQ(replay_api.handle(request).body, R"({"id":3})");
  // Malformed records are skipped, not fatal.
  replayed.apply("not json", std::string_view("x"));
  replayed.apply(R"({"keytype":"SCHEMA"})", std::string_view("{}"));
  replayed.apply(R"({"keytype":"NOOP","magic":0})", std::nullopt);
}

// A log shared by several registries, each reading it only when asked to catch up (or when it
// appends), as kafka_store's reader can lag another registry's writes.
struct shared_log {
  std::mutex mutex;
  std::vector<encoded_record> records;
};

class lagging_store final : public store {
public:
  lagging_store(registry& target, shared_log& log) : target_(target), log_(log) { target_.set_store(*this); }

  std::optional<api_error> append(const std::vector<record>& records) override {
    {
      std::lock_guard lock(log_.mutex);
      for (const auto& r : records) log_.records.push_back(encode(r));
    }
    read_to_end();
    return std::nullopt;
  }
  std::optional<api_error> catch_up() override {
    ++catch_ups;
    if (failing) return api_error{50001, "Error reading the end of _schemas: broker down"};
    read_to_end();
    return std::nullopt;
  }

  int catch_ups = 0;
  bool failing = false;

private:
  void read_to_end() {
    std::lock_guard lock(log_.mutex);
    for (; applied_ < log_.records.size(); ++applied_) target_.apply(log_.records[applied_]);
  }

  registry& target_;
  shared_log& log_;
  std::size_t applied_ = 0;
};

std::string answer_text(const answer& a) {
  if (const auto* e = std::get_if<api_error>(&a)) return fmt::format("error {}: {}", e->code, e->message);
  return std::get<json>(a).dump();
}

TEST(registry_reads, a_miss_catches_up_so_another_registrys_acknowledged_write_is_found) {
  shared_log log;
  registry writer;
  lagging_store writer_store(writer, log);
  registry reader;
  lagging_store reader_store(reader, log);

  schema_request request;
  request.schema = user_v1;
  const auto registered = writer.register_schema("user-value", request);
  ASSERT_TRUE(std::holds_alternative<json>(registered)) << answer_text(registered);
  const int id = std::get<json>(registered)["id"];

  // Each kind of read that can miss finds the other registry's write.
  const auto by_id = reader.schema_by_id(std::to_string(id));
  ASSERT_TRUE(std::holds_alternative<json>(by_id)) << answer_text(by_id);
  EXPECT_EQ(std::get<json>(by_id)["schema"], user_v1);
  EXPECT_EQ(reader_store.catch_ups, 1);
  const int after_first = reader_store.catch_ups;
  // A hit is served from memory, without a look at the log.
  EXPECT_TRUE(std::holds_alternative<json>(reader.schema_by_id(std::to_string(id))));
  EXPECT_TRUE(std::holds_alternative<json>(reader.version("user-value", "latest", false)));
  EXPECT_EQ(reader_store.catch_ups, after_first);

  request.schema = R"("string")";
  ASSERT_TRUE(std::holds_alternative<json>(writer.register_schema("other-value", request)));
  const auto versions = reader.versions("other-value", false);
  EXPECT_EQ(answer_text(versions), "[1]");
  request.schema = R"("long")";
  ASSERT_TRUE(std::holds_alternative<json>(writer.register_schema("third-value", request)));
  EXPECT_EQ(std::get<json>(reader.lookup("third-value", request, false))["version"], 1);
  request.schema = user_v2;
  const auto v2 = writer.register_schema("user-value", request);
  ASSERT_TRUE(std::holds_alternative<json>(v2)) << answer_text(v2);
  EXPECT_EQ(std::get<json>(reader.version("user-value", "2", false))["id"], std::get<json>(v2)["id"]);
  request.schema = R"("bytes")";
  const auto fourth = writer.register_schema("fourth-value", request);
  EXPECT_EQ(answer_text(reader.id_versions(std::get<json>(fourth)["id"].dump(), false)),
            R"([{"subject":"fourth-value","version":1}])");

  // What exists nowhere is still a 404, after one look at the log; an id that is not a number
  // cannot exist, so it costs none.
  const int before_misses = reader_store.catch_ups;
  const auto missing = reader.schema_by_id("999");
  ASSERT_TRUE(std::holds_alternative<api_error>(missing));
  EXPECT_EQ(std::get<api_error>(missing).code, 40403);
  EXPECT_EQ(reader_store.catch_ups, before_misses + 1);
  EXPECT_EQ(std::get<api_error>(reader.schema_by_id("abc")).code, 40403);
  EXPECT_EQ(reader_store.catch_ups, before_misses + 1);

  // When the log cannot be read, a miss is not presented as "not found".
  reader_store.failing = true;
  const auto unreadable = reader.versions("never-value", false);
  ASSERT_TRUE(std::holds_alternative<api_error>(unreadable));
  EXPECT_EQ(std::get<api_error>(unreadable).code, 50001) << answer_text(unreadable);
}

TEST(registry_auth, basic_auth_is_required_when_configured) {
  registry reg;
  memory_store store(reg);
  rest_api api(reg, [](const std::string& user, const std::string& password) {
    return user == "alice" && password == "s3:cret";
  });
  net::http_request request;
  request.method = "GET";
  request.set_target("/subjects");
  auto denied = api.handle(request);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(json::parse(denied.body)["error_code"], 401);
  EXPECT_TRUE(denied.header("WWW-Authenticate"));
  request.headers.emplace_back("Authorization", "Basic YWxpY2U6d3Jvbmc=");  // alice:wrong
  EXPECT_EQ(api.handle(request).status, 401);
  request.headers.back().second = "Basic !!!";
  EXPECT_EQ(api.handle(request).status, 401);
  request.headers.back().second = "Basic YWxpY2U6czM6Y3JldA==";  // alice:s3:cret (a ':' in the password)
  EXPECT_EQ(api.handle(request).status, 200);
}

TEST_F(registry_test, concurrent_registrations_get_unique_ids_and_versions) {
  // Writers are serialized: 4 threads x 10 distinct schemas under NONE, two subjects.
  call("PUT", "/config", R"({"compatibility":"NONE"})");
  std::vector<std::thread> threads;
  std::vector<std::vector<int>> ids(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t, &ids] {
      for (int i = 0; i < 10; ++i) {
        const auto schema = fmt::format(R"({{"type":"enum","name":"E{}_{}","symbols":["A"]}})", t, i);
        auto r = call("POST", fmt::format("/subjects/s{}/versions", t % 2), schema_body(schema));
        ids[t].push_back(r.body.value("id", -1));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<int> all;
  for (const auto& list : ids) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), 40u);
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), 40);
  EXPECT_EQ(call("GET", "/subjects/s0/versions").body.size(), 20u);
  EXPECT_EQ(call("GET", "/subjects/s1/versions/latest").body["version"], 20);
}

}  // namespace
}  // namespace substrate::schema
