// The Realtime protocol pieces: frames in both serialisations, filters, the session state
// machine (join reply shape, tokens, leave, heartbeat, broadcast), event payloads and the hub's
// fan-out with a recording peer and a visibility function standing in for the database.
#include "realtime/protocol.h"

#include <random>

#include <gtest/gtest.h>

#include "auth/jwt.h"
#include "realtime/change.h"
#include "realtime/hub.h"

namespace substrate::realtime {
namespace {

using json = nlohmann::json;

const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t now = 1'800'000'000;

std::string token(const std::string& role, std::int64_t exp, const std::string& sub = "") {
  json claims{{"role", role}, {"exp", exp}, {"iat", now - 10}};
  if (!sub.empty()) claims["sub"] = sub;
  return auth::sign_hs256(claims, secret);
}

json join_payload(json changes, const std::string& access_token = "") {
  json p{{"config",
          {{"broadcast", {{"ack", false}, {"self", false}}},
           {"presence", {{"key", ""}, {"enabled", false}}},
           {"postgres_changes", std::move(changes)},
           {"private", false}}}};
  if (!access_token.empty()) p["access_token"] = access_token;
  return p;
}

std::string v2(const json& j) {
  return j.dump();
}

TEST(RealtimeFrames, ParseAndEncodeBothVersions) {
  auto f = parse_frame(R"(["6","7","realtime:n","phx_join",{"a":1}])", vsn::v2);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->join_ref, "6");
  EXPECT_EQ(f->ref, "7");
  EXPECT_EQ(f->topic, "realtime:n");
  EXPECT_EQ(f->event, "phx_join");
  EXPECT_EQ(f->payload["a"], 1);
  EXPECT_EQ(encode_frame(*f, vsn::v2), R"(["6","7","realtime:n","phx_join",{"a":1}])");

  f = parse_frame(R"({"topic":"phoenix","event":"heartbeat","payload":{},"ref":"3"})", vsn::v1);
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->join_ref.has_value());
  EXPECT_EQ(f->ref, "3");
  const auto encoded = json::parse(encode_frame(*f, vsn::v1));
  EXPECT_EQ(encoded["topic"], "phoenix");
  EXPECT_TRUE(encoded["join_ref"].is_null());
  EXPECT_EQ(encoded["ref"], "3");

  EXPECT_FALSE(parse_frame("nope", vsn::v2).has_value());
  EXPECT_FALSE(parse_frame(R"(["1","2","t","e"])", vsn::v2).has_value());
  EXPECT_FALSE(parse_frame(R"(["1","2","t","e",{}])", vsn::v1).has_value());
  EXPECT_FALSE(parse_frame(R"([null,null,1,"e",{}])", vsn::v2).has_value());

  EXPECT_EQ(parse_vsn(std::nullopt), vsn::v1);
  EXPECT_EQ(parse_vsn("1.0.0"), vsn::v1);
  EXPECT_EQ(parse_vsn("2.0.0"), vsn::v2);
  EXPECT_FALSE(parse_vsn("3.0.0").has_value());
}

TEST(RealtimeFrames, BinaryBroadcastPush) {
  // kind 3, join_ref "1", ref "2", topic "realtime:b", event "hi", no meta, JSON encoding.
  std::string bytes{'\x03', 1, 1, 10, 2, 0, 1};
  bytes += "12realtime:bhi";
  bytes += R"({"x":5})";
  auto f = parse_binary_broadcast(bytes);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->topic, "realtime:b");
  EXPECT_EQ(f->event, "broadcast");
  EXPECT_EQ(f->ref, "2");
  EXPECT_EQ(f->payload, (json{{"type", "broadcast"}, {"event", "hi"}, {"payload", {{"x", 5}}}}));
  EXPECT_FALSE(parse_binary_broadcast(bytes.substr(0, 12)).has_value());
  bytes[6] = 0;  // binary user payload: not supported
  EXPECT_FALSE(parse_binary_broadcast(bytes).has_value());
}

TEST(RealtimeFilters, ParseAndMatch) {
  auto f = parse_filter("user_id=eq.A0EEBC99-9c0b-4ef8-bb6d-6bb9bd380a11");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->column, "user_id");
  EXPECT_TRUE(filter_matches(*f, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"));
  EXPECT_FALSE(filter_matches(*f, std::nullopt, "uuid"));

  f = parse_filter("n=gt.9");
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(filter_matches(*f, "10", "int4"));  // numeric, not text, comparison
  EXPECT_FALSE(filter_matches(*f, "9", "int4"));
  EXPECT_TRUE(filter_matches(*parse_filter("n=gte.9"), "9", "int8"));
  EXPECT_TRUE(filter_matches(*parse_filter("n=lt.2.5"), "2.25", "numeric"));
  EXPECT_FALSE(filter_matches(*parse_filter("n=lte.2"), "3", "int2"));
  EXPECT_TRUE(filter_matches(*parse_filter("s=neq.a"), "b", "text"));
  EXPECT_TRUE(filter_matches(*parse_filter("done=eq.true"), "t", "bool"));
  EXPECT_FALSE(filter_matches(*parse_filter("done=eq.true"), "f", "bool"));

  f = parse_filter(R"(kind=in.(a,"b,c",d))");
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->values.size(), 3U);
  EXPECT_EQ(f->values[1], "b,c");
  EXPECT_TRUE(filter_matches(*f, "b,c", "text"));
  EXPECT_FALSE(filter_matches(*f, "b", "text"));
  EXPECT_TRUE(filter_matches(*parse_filter("n=in.(1,2,3)"), "2", "int4"));

  EXPECT_FALSE(parse_filter("nope").has_value());
  EXPECT_FALSE(parse_filter("a=like.x").has_value());
  EXPECT_FALSE(parse_filter("a=in.1,2").has_value());
  EXPECT_FALSE(parse_filter("=eq.1").has_value());
}

TEST(RealtimeSession, JoinReplyEchoesEveryEntryInOrderWithIds) {
  session s(vsn::v2, token("anon", now + 3600), hs256_verifier(secret));
  const json changes = json::array(
      {{{"event", "INSERT"}, {"schema", "public"}, {"table", "user_notifications"}, {"filter", "user_id=eq.u1"}},
       {{"event", "*"}, {"schema", "public"}, {"table", "t"}}});
  auto out = s.on_text(v2(json::array({"6", "6", "realtime:notif-1", "phx_join", join_payload(changes)})), now);
  ASSERT_EQ(out.frames.size(), 2U);
  const auto& r = out.frames[0];
  EXPECT_EQ(r.join_ref, "6");
  EXPECT_EQ(r.ref, "6");
  EXPECT_EQ(r.event, "phx_reply");
  EXPECT_EQ(r.payload["status"], "ok");
  const auto& echoed = r.payload["response"]["postgres_changes"];
  ASSERT_EQ(echoed.size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    for (const char* key : {"event", "schema", "table"}) EXPECT_EQ(echoed[i][key], changes[i][key]);
    EXPECT_TRUE(echoed[i]["id"].is_number_integer());
  }
  EXPECT_EQ(echoed[0]["filter"], "user_id=eq.u1");
  EXPECT_FALSE(echoed[1].contains("filter"));
  EXPECT_NE(echoed[0]["id"], echoed[1]["id"]);

  const auto& system = out.frames[1];
  EXPECT_EQ(system.event, "system");
  EXPECT_EQ(system.join_ref, "6");
  EXPECT_FALSE(system.ref.has_value());
  EXPECT_EQ(system.payload["status"], "ok");
  EXPECT_EQ(system.payload["message"], "Subscribed to PostgreSQL");
  EXPECT_EQ(system.payload["channel"], "notif-1");

  ASSERT_EQ(out.effects.size(), 1U);
  const auto& ch = std::get<subscribe_effect>(out.effects[0]).ch;
  EXPECT_EQ(ch->role, "anon");
  ASSERT_EQ(ch->bindings.size(), 2U);
  EXPECT_TRUE(ch->bindings[0].where.has_value());
  EXPECT_TRUE(binding_wants(ch->bindings[1], "public", "t", "DELETE"));
  EXPECT_FALSE(binding_wants(ch->bindings[0], "public", "user_notifications", "UPDATE"));
}

TEST(RealtimeSession, JoinUsesAccessTokenElseTheSocketKey) {
  session s(vsn::v2, token("anon", now + 3600), hs256_verifier(secret));
  auto out = s.on_frame(
      {"1", "1", "realtime:a", "phx_join", join_payload(json::array(), token("authenticated", now + 60, "u1"))}, now);
  ASSERT_EQ(out.effects.size(), 1U);
  EXPECT_EQ(std::get<subscribe_effect>(out.effects[0]).ch->claims["sub"], "u1");
  EXPECT_EQ(out.frames.size(), 1U);  // no bindings: no system message

  out = s.on_frame({"2", "2", "realtime:b", "phx_join", join_payload(json::array(), "sb_publishable_x")}, now);
  EXPECT_EQ(std::get<subscribe_effect>(out.effects[0]).ch->role, "anon");
}

TEST(RealtimeSession, JoinErrorsGiveTheSupabaseReasons) {
  session s(vsn::v2, token("anon", now + 3600), hs256_verifier(secret));
  auto reason = [&](const std::string& t) {
    auto out = s.on_frame({"1", "1", "realtime:x", "phx_join", join_payload(json::array(), t)}, now);
    EXPECT_TRUE(out.effects.empty());
    EXPECT_EQ(out.frames.at(0).payload["status"], "error");
    return out.frames.at(0).payload["response"]["reason"].get<std::string>();
  };
  EXPECT_EQ(reason(token("authenticated", now - 12)), "InvalidJWTToken: Token has expired 12 seconds ago");
  EXPECT_EQ(reason("not.a.jwt"), "MalformedJWT: The token provided is not a valid JWT");
  EXPECT_EQ(reason(auth::sign_hs256(json{{"role", "anon"}}, secret)),
            "InvalidJWTToken: Fields `role` and `exp` are required in JWT");
  EXPECT_EQ(reason(auth::sign_hs256(json{{"role", "anon"}, {"exp", now + 60}}, "another-secret-another-secret-xx")),
            "InvalidJWTToken: Signature error");
  auto out = s.on_frame({"1", "1", "realtime:", "phx_join", join_payload(json::array())}, now);
  EXPECT_EQ(out.frames.at(0).payload["response"]["reason"], "TopicNameRequired: You must provide a topic name");
  json priv = join_payload(json::array());
  priv["config"]["private"] = true;
  out = s.on_frame({"1", "1", "realtime:p", "phx_join", priv}, now);
  EXPECT_EQ(out.frames.at(0).payload["status"], "error");
}

TEST(RealtimeSession, BadFilterKeepsTheJoinAndReportsASystemError) {
  session s(vsn::v2, token("anon", now + 3600), hs256_verifier(secret));
  const json changes =
      json::array({{{"event", "INSERT"}, {"schema", "public"}, {"table", "t"}, {"filter", "a=like.x"}}});
  auto out = s.on_frame({"1", "1", "realtime:x", "phx_join", join_payload(changes)}, now);
  ASSERT_EQ(out.frames.size(), 2U);
  EXPECT_EQ(out.frames[0].payload["status"], "ok");
  EXPECT_EQ(out.frames[0].payload["response"]["postgres_changes"][0]["filter"], "a=like.x");
  EXPECT_EQ(out.frames[1].payload["status"], "error");
  EXPECT_FALSE(std::get<subscribe_effect>(out.effects[0]).ch->bindings[0].usable);
}

TEST(RealtimeSession, HeartbeatLeaveTokenUpdateAndBroadcast) {
  session s(vsn::v1, token("anon", now + 3600), hs256_verifier(secret));
  auto out = s.on_text(R"({"topic":"phoenix","event":"heartbeat","payload":{},"ref":"7"})", now);
  ASSERT_EQ(out.frames.size(), 1U);
  EXPECT_EQ(out.frames[0].ref, "7");
  EXPECT_EQ(out.frames[0].payload, (json{{"status", "ok"}, {"response", json::object()}}));

  json payload = join_payload(json::array());
  payload["config"]["broadcast"]["ack"] = true;
  (void)s.on_frame({"6", "6", "realtime:c", "phx_join", payload}, now);

  // A valid new token replaces the claims; no reply.
  out = s.on_frame({"6", "8", "realtime:c", "access_token", {{"access_token", token("authenticated", now + 99, "u2")}}},
                   now);
  EXPECT_TRUE(out.frames.empty());
  ASSERT_EQ(out.effects.size(), 1U);
  EXPECT_EQ(std::get<subscribe_effect>(out.effects[0]).ch->claims["sub"], "u2");
  // The same token again, null, or an sb_ key: ignored.
  out = s.on_frame({"6", "9", "realtime:c", "access_token", {{"access_token", nullptr}}}, now);
  EXPECT_TRUE(out.effects.empty());

  out =
      s.on_frame({"6", "10", "realtime:c", "broadcast", {{"type", "broadcast"}, {"event", "e"}, {"payload", 1}}}, now);
  ASSERT_EQ(out.effects.size(), 1U);
  EXPECT_FALSE(std::get<broadcast_effect>(out.effects[0]).self);
  ASSERT_EQ(out.frames.size(), 1U);  // ack
  EXPECT_EQ(out.frames[0].ref, "10");

  // An expired token ends the channel: system error, then phx_close.
  out = s.on_frame({"6", "11", "realtime:c", "access_token", {{"access_token", token("authenticated", now - 5)}}}, now);
  ASSERT_EQ(out.frames.size(), 2U);
  EXPECT_EQ(out.frames[0].event, "system");
  EXPECT_EQ(out.frames[0].payload["status"], "error");
  EXPECT_EQ(out.frames[1].event, "phx_close");
  EXPECT_EQ(out.frames[1].join_ref, "6");
  ASSERT_EQ(out.effects.size(), 1U);
  EXPECT_TRUE(std::holds_alternative<unsubscribe_effect>(out.effects[0]));
  EXPECT_TRUE(s.channels().empty());

  // Leave of a channel never joined still gets ok.
  out = s.on_frame({std::nullopt, "12", "realtime:zzz", "phx_leave", json::object()}, now);
  ASSERT_EQ(out.frames.size(), 1U);
  EXPECT_EQ(out.frames[0].payload["status"], "ok");
}

std::shared_ptr<table_info> notes_table(bool rls) {
  auto t = std::make_shared<table_info>();
  t->rel.oid = 1;
  t->rel.schema = "public";
  t->rel.name = "notes";
  t->rel.columns = {{true, "id", 20, -1},
                    {false, "user_id", 2950, -1},
                    {false, "meta", 3802, -1},
                    {false, "done", 16, -1},
                    {false, "at", 1184, -1}};
  t->type_names = {"int8", "uuid", "jsonb", "bool", "timestamptz"};
  t->rls_enabled = rls;
  return t;
}

pgoutput::tuple row(const std::string& id, const std::string& user) {
  using k = pgoutput::value::kind;
  return {{k::text, id},
          {k::text, user},
          {k::text, R"({"a": 1})"},
          {k::text, "f"},
          {k::text, "2024-05-01 12:00:00.123+00"}};
}

TEST(RealtimeChange, EventDataHasTypedValuesAndColumns) {
  change c{notes_table(true), "INSERT", row("7", "u1"), std::nullopt, true, 1714564800123000};
  const auto all = std::vector<std::string>{"id", "user_id", "meta", "done", "at"};
  const auto d = change_data(c, all);
  EXPECT_EQ(d["commit_timestamp"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(d["type"], "INSERT");
  EXPECT_EQ(d["columns"].size(), 5U);
  EXPECT_EQ(d["columns"][1], (json{{"name", "user_id"}, {"type", "uuid"}}));
  EXPECT_EQ(d["record"]["id"], 7);
  EXPECT_EQ(d["record"]["meta"], (json{{"a", 1}}));
  EXPECT_EQ(d["record"]["done"], false);
  EXPECT_EQ(d["record"]["at"], "2024-05-01T12:00:00.123+00:00");
  EXPECT_TRUE(d["errors"].is_null());
  EXPECT_FALSE(d.contains("old_record"));

  // Columns the role may not select are left out; without the key: 401, no record.
  const auto some = change_data(c, {"id", "done"});
  EXPECT_EQ(some["record"], (json{{"id", 7}, {"done", false}}));
  const auto none = change_data(c, {"done"});
  EXPECT_EQ(none["errors"], json::array({"Error 401: Unauthorized"}));
  EXPECT_FALSE(none.contains("record"));

  // DELETE on an RLS table: primary key only.
  change del{notes_table(true), "DELETE", {}, row("7", "u1"), false, 0};
  EXPECT_EQ(change_data(del, all)["old_record"], (json{{"id", 7}}));
  EXPECT_FALSE(change_data(del, all).contains("record"));
  change up{notes_table(false), "UPDATE", row("7", "u1"), std::nullopt, true, 0};
  EXPECT_EQ(change_data(up, all)["old_record"], (json{{"id", 7}}));
}

class recording_peer : public net::websocket_peer {
public:
  void send_text(std::string message) override { sent.push_back(json::parse(message)); }
  void close(std::uint16_t, std::string) override {}
  std::vector<json> sent;
};

TEST(RealtimeHub, DeliversToMatchingVisibleChannelsWithOneCheckPerChange) {
  hub h(secret);
  auto a = std::make_shared<recording_peer>();
  auto b = std::make_shared<recording_peer>();
  auto join = [&](const std::shared_ptr<recording_peer>& peer, const std::string& sub, json changes) {
    session s(vsn::v2, token("anon", now + 3600), h.verifier());
    auto out = s.on_frame(
        {"1", "1", "realtime:n", "phx_join", join_payload(changes, token("authenticated", now + 60, sub))}, now);
    const auto id = h.next_connection_id();
    h.subscribe(id, peer, vsn::v2, std::get<subscribe_effect>(out.effects[0]).ch, out.frames);
    return id;
  };
  join(a, "u1",
       json::array({{{"event", "INSERT"}, {"schema", "public"}, {"table", "notes"}, {"filter", "user_id=eq.u1"}}}));
  join(b, "u2", json::array({{{"event", "*"}, {"schema", "public"}, {"table", "notes"}}}));
  a->sent.clear();
  b->sent.clear();

  int checks = 0;
  visibility_check check = [&](const std::vector<check_item>& items) {
    ++checks;
    std::vector<std::vector<visibility>> out;
    for (const auto& item : items) {
      out.emplace_back();
      for (const auto& s : item.subscribers) {
        // Row-level security stand-in: only u1 sees rows.
        const bool owner = json::parse(s.claims_json)["sub"] == "u1";
        out.back().push_back({owner, {"id", "user_id", "meta", "done", "at"}});
      }
    }
    return out;
  };
  EXPECT_EQ(h.deliver({change{notes_table(true), "INSERT", row("7", "u1"), std::nullopt, true, 0}}, check), 1U);
  EXPECT_EQ(checks, 1);
  ASSERT_EQ(a->sent.size(), 1U);
  EXPECT_TRUE(b->sent.empty());
  EXPECT_EQ(a->sent[0][3], "postgres_changes");
  EXPECT_TRUE(a->sent[0][0].is_null());
  EXPECT_EQ(a->sent[0][4]["data"]["record"]["user_id"], "u1");

  // The filter keeps u2's row from a; RLS (the stand-in) from b.
  EXPECT_EQ(h.deliver({change{notes_table(true), "INSERT", row("8", "u2"), std::nullopt, true, 0}}, check), 0U);
  // DELETE skips filters and RLS: b (event *) gets it, a (INSERT only) does not.
  EXPECT_EQ(h.deliver({change{notes_table(true), "DELETE", {}, row("7", "u1"), false, 0}}, check), 1U);
  ASSERT_EQ(b->sent.size(), 1U);
  EXPECT_EQ(b->sent[0][4]["data"]["old_record"], (json{{"id", 7}}));

  // Several changes (a batch of transactions) are checked in one call and delivered in order.
  checks = 0;
  a->sent.clear();
  b->sent.clear();
  EXPECT_EQ(h.deliver({change{notes_table(true), "INSERT", row("9", "u1"), std::nullopt, true, 0},
                       change{notes_table(true), "INSERT", row("10", "u2"), std::nullopt, true, 0},
                       change{notes_table(true), "INSERT", row("11", "u1"), std::nullopt, true, 0}},
                      check),
            2U);
  EXPECT_EQ(checks, 1);
  ASSERT_EQ(a->sent.size(), 2U);
  EXPECT_EQ(a->sent[0][4]["data"]["record"]["id"], 9);
  EXPECT_EQ(a->sent[1][4]["data"]["record"]["id"], 11);
  EXPECT_TRUE(b->sent.empty());  // the stand-in RLS hides everything from b

  // Broadcast reaches the other socket on the topic, not the sender (self false).
  h.broadcast(1, "realtime:n", json{{"type", "broadcast"}, {"event", "e"}, {"payload", 1}}, false);
  EXPECT_EQ(a->sent.size(), 2U);
  ASSERT_EQ(b->sent.size(), 1U);
  EXPECT_EQ(b->sent[0][3], "broadcast");

  // Token expiry ends both channels.
  h.expire(now + 61);
  EXPECT_EQ(h.channel_count(), 0U);
  EXPECT_EQ(a->sent.back()[3], "phx_close");
  h.disconnect(1);
}

TEST(RealtimeFrames, ChangeFrameIsTheEncodedFrame) {
  const json data{{"type", "INSERT"}, {"record", {{"id", 1}, {"s", "a\"b"}}}, {"errors", nullptr}};
  for (const auto version : {vsn::v1, vsn::v2}) {
    const frame f{std::nullopt, std::nullopt, "realtime:t\"x", "postgres_changes",
                  json{{"ids", {7, 9}}, {"data", data}}};
    EXPECT_EQ(json::parse(encode_change_frame(f.topic, {7, 9}, data.dump(), version)),
              json::parse(encode_frame(f, version)));
  }
}

// The hub's index (by table, and by value for eq / in filters) must deliver exactly what checking
// every binding of every channel delivers: random bindings and changes, against that reference.
TEST(RealtimeHub, IndexMatchesEveryBindingChecked) {
  std::mt19937 random(12345);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  auto table = [](const std::string& name) {
    auto t = std::make_shared<table_info>();
    t->rel.schema = "public";
    t->rel.name = name;
    t->rel.columns = {{true, "id", 20, -1},
                      {false, "user_id", 2950, -1},
                      {false, "n", 23, -1},
                      {false, "flag", 16, -1},
                      {false, "label", 25, -1}};
    t->type_names = {"int8", "uuid", "int4", "bool", "text"};
    return std::shared_ptr<const table_info>(t);
  };
  const std::vector<std::shared_ptr<const table_info>> tables = {table("t1"), table("t2"), table("*")};
  const std::vector<std::string> users = {"0b5f0000-0000-4000-8000-00000000000a",
                                          "0B5F0000-0000-4000-8000-00000000000A",
                                          "0b5f0000-0000-4000-8000-00000000000b"};
  const std::vector<std::string> filters = {"",
                                            "",
                                            "user_id=eq." + users[0],
                                            "user_id=eq." + users[1],
                                            "user_id=eq." + users[2],
                                            "user_id=in.(" + users[0] + "," + users[2] + ")",
                                            "n=eq.1",
                                            "n=eq.1.0",
                                            "n=eq.01",
                                            "n=eq.2",
                                            "n=in.(1,3)",
                                            "n=in.()",
                                            "n=gt.1",
                                            "n=neq.2",
                                            "flag=eq.true",
                                            "flag=eq.f",
                                            "label=eq.a",
                                            "label=eq.A",
                                            "label=in.(a,\"b\")",
                                            "label=lt.b",
                                            "nosuch=eq.1",
                                            "user_id=eq."};

  hub h(secret);
  struct subscriber {
    std::shared_ptr<recording_peer> peer;
    std::shared_ptr<const channel> ch;
  };
  std::vector<subscriber> subs;
  std::map<std::pair<std::uint64_t, std::string>, std::size_t> live;  // (connection, topic) -> subs index
  auto join = [&](std::uint64_t connection, const std::string& topic) {
    json changes = json::array();
    const auto n = random() % 4;
    for (std::size_t i = 0; i < n; ++i) {
      json e{{"event", pick({"*", "INSERT", "UPDATE", "DELETE", "insert"})},
             {"schema", pick({"public", "public", "*"})},
             {"table", pick({"t1", "t1", "t2", "*"})}};
      if (auto f = pick(filters); !f.empty()) e["filter"] = f;
      changes.push_back(e);
    }
    session s(vsn::v2, token("anon", now + 3600), h.verifier());
    auto out = s.on_frame({"1", "1", topic, "phx_join", join_payload(changes, token("authenticated", now + 60))}, now);
    auto peer = std::make_shared<recording_peer>();
    auto ch = std::get<subscribe_effect>(out.effects.back()).ch;
    h.subscribe(connection, peer, vsn::v2, ch, {});
    live[{connection, topic}] = subs.size();
    subs.push_back({peer, ch});
  };
  for (std::uint64_t c = 1; c <= 40; ++c) {
    join(c, "realtime:a");
    if (random() % 2 == 0) join(c, "realtime:b");
  }
  // Churn: replaced (rejoined) and removed channels must leave the index too.
  for (std::uint64_t c = 1; c <= 40; c += 3) join(c, "realtime:a");
  for (std::uint64_t c = 2; c <= 40; c += 5) {
    h.unsubscribe(c, "realtime:a");
    live.erase({c, "realtime:a"});
  }
  for (std::uint64_t c = 4; c <= 40; c += 7) {
    h.disconnect(c);
    live.erase({c, "realtime:a"});
    live.erase({c, "realtime:b"});
  }

  const visibility_check all_visible = [](const std::vector<check_item>& items) {
    std::vector<std::vector<visibility>> out;
    for (const auto& item : items) {
      out.emplace_back(item.subscribers.size(), visibility{true, {"id", "user_id", "n", "flag", "label"}});
    }
    return out;
  };
  using k = pgoutput::value::kind;
  std::size_t delivered = 0;
  for (int round = 0; round < 300; ++round) {
    for (auto& s : subs) s.peer->sent.clear();
    const auto type = pick({"INSERT", "UPDATE", "DELETE"});
    auto value = [&](const std::vector<std::string>& options) {
      const auto v = pick(options);
      return v == "NULL" ? pgoutput::value{k::null, ""} : pgoutput::value{k::text, v};
    };
    pgoutput::tuple t = {{k::text, std::to_string(round)},
                         value({users[0], users[2], "NULL"}),
                         value({"1", "2", "3", "NULL"}),
                         value({"t", "f"}),
                         value({"a", "A", "b", "NULL"})};
    change c{tables[random() % tables.size()],
             type,
             type == "DELETE" ? pgoutput::tuple{} : t,
             type == "INSERT" ? std::nullopt : std::optional<pgoutput::tuple>(t),
             false,
             0};
    h.deliver({c}, all_visible);

    // The reference: every binding of every live channel.
    std::map<std::pair<recording_peer*, std::string>, std::vector<std::int64_t>> expected;
    for (const auto& [key, i] : live) {
      std::vector<std::int64_t> ids;
      for (const auto& b : subs[i].ch->bindings) {
        if (!binding_wants(b, "public", c.table->rel.name, type)) continue;
        if (b.where && type != "DELETE") {
          std::string_view type_name;
          for (std::size_t col = 0; col < c.table->rel.columns.size(); ++col) {
            if (c.table->rel.columns[col].name == b.where->column) type_name = c.table->type_names[col];
          }
          if (!filter_matches(*b.where, column_text(c, b.where->column), type_name)) continue;
        }
        if (std::find(ids.begin(), ids.end(), b.id) == ids.end()) ids.push_back(b.id);
      }
      if (!ids.empty()) expected[{subs[i].peer.get(), key.second}] = ids;
    }
    std::map<std::pair<recording_peer*, std::string>, std::vector<std::int64_t>> got;
    for (const auto& s : subs) {
      for (const auto& m : s.peer->sent) {
        auto& ids = got[{s.peer.get(), m[2].get<std::string>()}];
        EXPECT_TRUE(ids.empty()) << "one message per channel and change";
        ids = m[4]["ids"].get<std::vector<std::int64_t>>();
      }
    }
    ASSERT_EQ(got, expected) << "round " << round << " " << type << " on " << c.table->rel.name;
    delivered += got.size();
  }
  EXPECT_GT(delivered, 1000U);  // the random cases do reach channels
}

}  // namespace
}  // namespace substrate::realtime
