// The platform processors end to end: Avro events (the embedded schemas, Confluent framing)
// produced to the real broker -> processors -> rows in user_notifications / credit_ledger and
// outbox rows that encode with their topic's schema; redelivery changes nothing.
#include "domains/platform_processors.h"

#include <fstream>
#include <map>
#include <sstream>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "../stream/stream_fixture.h"
#include "avro/confluent.h"
#include "avro/json_encoder.h"
#include "stream/errc.h"

namespace substrate::domains {
namespace {

using stream::testing::stream_fixture;
using namespace std::chrono_literals;

std::string read_schema(const std::string& topic) {
  std::string path = topic;
  // public.identity.login.events -> schemas/public/identity/login.events.avsc
  for (int i = 0, dots = 0; i < static_cast<int>(path.size()) && dots < 2; ++i) {
    if (path[i] == '.') {
      path[i] = '/';
      ++dots;
    }
  }
  std::ifstream in(std::string(SUBSTRATE_SOURCE_DIR) + "/schemas/" + path + ".avsc");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The tables of contracts.md 2.1 and 2.2, as the platform migration (0005) creates them; guarded so
// the test also runs once that migration is embedded.
constexpr const char* platform_tables = R"(
create table if not exists public.user_notifications (
  id bigint generated always as identity primary key,
  user_id text not null, event_type text not null, payload text not null default '{}',
  event_time text not null, visibility text not null default 'broadcast', recipient_id text,
  created_at timestamptz not null default now());
create table if not exists public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id text not null, amount integer not null, event_type text not null,
  description text not null default '', event_time text not null,
  created_at timestamptz not null default now());
)";

class platform_processors_test : public stream_fixture {
protected:
  void SetUp() override {
    stream_fixture::SetUp();
    ASSERT_TRUE(sql().exec(platform_tables));
    int id = 1;
    for (const char* topic :
         {"public.identity.login.events", "public.identity.signup.events", "public.identity.signout.events",
          "public.user.message.events", "internal.platform.unified.events", "internal.identity.login.echo"}) {
      texts_[id] = read_schema(topic);
      ids_[topic] = id++;
    }
  }

  std::string framed(const std::string& topic, const nlohmann::json& value) {
    auto schema = avro::schema::parse(texts_.at(ids_.at(topic)));
    EXPECT_TRUE(schema) << topic;
    std::string out;
    avro::append_confluent_header(out, ids_.at(topic));
    avro::json_encoder encoder;
    auto encoded = encoder.encode(*schema, value.dump(), out);
    EXPECT_TRUE(encoded) << encoded.error().message();
    return out;
  }

  // Whether an outbox payload is a valid record of its topic's schema (what the relay needs).
  void expect_encodes(const std::string& topic, const std::string& payload) {
    auto schema = avro::schema::parse(texts_.at(ids_.at(topic)));
    ASSERT_TRUE(schema);
    std::string out;
    avro::json_encoder encoder;
    auto encoded = encoder.encode(*schema, payload, out);
    EXPECT_TRUE(encoded) << topic << ": " << encoded.error().message() << " in " << payload;
  }

  stream::runtime_options options() {
    stream::runtime_options o;
    o.bootstrap = broker_->bootstrap();
    o.conninfo = postgres().conninfo();
    o.decode = decoder_.as_decoder();
    o.consumer_properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    return o;
  }

  // Runs every platform processor (with `group_suffix` appended to its group) until `ready`
  // returns `expected`.
  void run_all(const std::string& group_suffix, const std::string& ready, const std::string& expected) {
    std::vector<std::unique_ptr<stream::processor>> running;
    for (auto& d : platform_processors()) {
      d.group_id += group_suffix;
      running.push_back(std::make_unique<stream::processor>(std::move(d), options(), probe_));
      running.back()->start();
    }
    EXPECT_EQ(wait_for(ready, expected), expected);
    std::this_thread::sleep_for(300ms);
    for (auto& p : running) p->stop();
  }

  std::map<std::int32_t, std::string> texts_;
  std::map<std::string, std::int32_t> ids_;
  core::metrics_registry registry_;
  stream::probe probe_{registry_};
  stream::schema_id_decoder decoder_{[this](std::int32_t id) -> result<std::string> {
    if (auto it = texts_.find(id); it != texts_.end()) return it->second;
    return make_error(stream::errc::decode_failed, "unknown schema id");
  }};
};

const std::string alice = "11111111-1111-4111-8111-111111111111";
const std::string bob = "22222222-2222-4222-8222-222222222222";

TEST_F(platform_processors_test, identity_events_become_notifications_credits_and_unified_events_once) {
  auto producer = make_producer();
  produce(*producer, "public.identity.signup.events", 0,
          framed("public.identity.signup.events",
                 {{"user_id", alice}, {"email", "a@x.io"}, {"signup_time", "2026-02-26T10:00:00Z"}}));
  produce(*producer, "public.identity.login.events", 0,
          framed("public.identity.login.events", {{"user_id", alice},
                                                  {"email", "a@x.io"},
                                                  {"login_time", "2026-02-26T10:01:00.123Z"},
                                                  {"device_id", nullptr},
                                                  {"user_agent", "curl/8"},
                                                  {"ip_address", "127.0.0.1"}}));
  produce(*producer, "public.identity.signout.events", 0,
          framed("public.identity.signout.events", {{"user_id", alice},
                                                    {"email", nullptr},
                                                    {"signout_time", "2026-02-26T10:02:00Z"},
                                                    {"device_id", "d1"},
                                                    {"user_agent", "curl/8"},
                                                    {"ip_address", "127.0.0.1"}}));
  flush(*producer);
  const std::string ready =
      "select (select count(*) from public.user_notifications) || '/' || "
      "(select count(*) from substrate.outbox)";
  run_all("", ready, "4/4");
  // Every event delivered again (new groups, no committed offsets): nothing changes.
  run_all("-again", ready, "4/4");
  EXPECT_EQ(scalar(ready), "4/4");

  EXPECT_EQ(
      scalar("select string_agg(event_type || ' ' || payload || ' ' || event_time, E'\\n' order by event_time, id) "
             "from public.user_notifications where event_type <> 'identity.login'"),
      "identity.signup {\"email\":\"a@x.io\"} 2026-02-26T10:00:00Z\n"
      "credit.balance_changed {\"amount\":2,\"reason\":\"signup_bonus\"} 2026-02-26T10:00:00Z\n"
      "identity.signout {\"email\":null,\"device_id\":\"d1\",\"user_agent\":\"curl/8\",\"ip_address\":\"127.0.0."
      "1\"} 2026-02-26T10:02:00Z");
  EXPECT_EQ(scalar("select payload || ' ' || event_time || ' ' || visibility || ' ' || coalesce(recipient_id, 'null') "
                   "from public.user_notifications where event_type = 'identity.login'"),
            "{\"email\":\"a@x.io\",\"device_id\":null,\"user_agent\":\"curl/8\",\"ip_address\":\"127.0.0.1\"} "
            "2026-02-26T10:01:00.123Z broadcast null");
  EXPECT_EQ(scalar("select user_id || ' ' || amount || ' ' || event_type || ' ' || description || ' ' || event_time "
                   "from public.credit_ledger"),
            alice + " 2 credit.signup_bonus Welcome bonus: 2 credits 2026-02-26T10:00:00Z");

  auto outbox = sql().exec("select topic, payload::text from substrate.outbox order by id");
  ASSERT_TRUE(outbox);
  std::map<std::string, nlohmann::json> unified;
  int echoes = 0;
  for (int row = 0; row < outbox->rows(); ++row) {
    const auto topic = outbox->value(row, 0);
    const auto payload = outbox->value(row, 1);
    expect_encodes(topic, payload);
    auto value = nlohmann::json::parse(payload);
    if (topic == "internal.platform.unified.events") unified[value["event_type"]] = value;
    if (topic == "internal.identity.login.echo") {
      ++echoes;
      EXPECT_EQ(value["login_time"], "2026-02-26T10:01:00.123Z");
      EXPECT_EQ(value["user_agent"], "curl/8");
    }
  }
  EXPECT_EQ(echoes, 1);
  ASSERT_EQ(unified.size(), 3u);
  EXPECT_EQ(unified["LOGIN"]["event_id"], alice + "_2026-02-26T10:01:00.123Z");
  EXPECT_EQ(unified["LOGIN"]["ip_address"], "127.0.0.1");
  EXPECT_EQ(unified["SIGNUP"]["event_id"], alice + "_2026-02-26T10:00:00Z");
  EXPECT_TRUE(unified["SIGNUP"]["device_id"].is_null());
  EXPECT_TRUE(unified["SIGNOUT"]["email"].is_null());
  EXPECT_TRUE(unified["SIGNOUT"]["user_agent"].is_null());  // contracts.md 4.3
}

TEST_F(platform_processors_test, messages_are_broadcast_or_direct) {
  auto producer = make_producer();
  produce(*producer, "public.user.message.events", 0,
          framed("public.user.message.events", {{"user_id", alice},
                                                {"email", "a@x.io"},
                                                {"message", "hello all"},
                                                {"timestamp", "2026-02-26T10:00:00.123Z"},
                                                {"visibility", "broadcast"},
                                                {"recipient_id", nullptr}}));
  produce(*producer, "public.user.message.events", 0,
          framed("public.user.message.events", {{"user_id", alice},
                                                {"email", "a@x.io"},
                                                {"message", "hi bob"},
                                                {"timestamp", "2026-02-26T10:00:01.000Z"},
                                                {"visibility", "direct"},
                                                {"recipient_id", bob}}));
  flush(*producer);
  std::vector<std::unique_ptr<stream::processor>> running;
  for (auto& d : platform_processors()) {
    if (d.name != "message-consumer") continue;
    running.push_back(std::make_unique<stream::processor>(std::move(d), options(), probe_));
    running.back()->start();
  }
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(wait_for("select count(*) from public.user_notifications", "2"), "2");
  running.front()->stop();
  EXPECT_EQ(
      scalar("select string_agg(user_id || ' ' || event_type || ' ' || payload || ' ' || event_time || ' ' || "
             "visibility || ' ' || coalesce(recipient_id, 'null'), E'\\n' order by event_time, id) "
             "from public.user_notifications"),
      alice +
          " user.message {\"email\":\"a@x.io\",\"message\":\"hello all\"} 2026-02-26T10:00:00.123Z broadcast null\n" +
          alice + " user.message {\"email\":\"a@x.io\",\"message\":\"hi bob\"} 2026-02-26T10:00:01.000Z direct " + bob);
}

TEST(platform_processor_names, match_the_consumer_groups_of_the_contracts) {
  std::map<std::string, std::string> groups;
  for (const auto& d : platform_processors()) groups[d.name] = d.group_id;
  EXPECT_EQ(groups, (std::map<std::string, std::string>{{"identity-login", "flink-login-consumer"},
                                                        {"identity-signup", "flink-signup-consumer"},
                                                        {"identity-signout", "flink-signout-consumer"},
                                                        {"message-consumer", "go-message-consumer"},
                                                        {"login-echo", "pyflink-echo-consumer"}}));
}

}  // namespace
}  // namespace substrate::domains
