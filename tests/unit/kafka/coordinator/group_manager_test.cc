// The group state machine driven directly with a manual clock (spec kafka-compat.md section 4):
// joins, leader election, protocol selection, sync, heartbeats, expiry, leave, static members,
// offset-commit rules, and the rebuild of offsets from the records of __consumer_offsets.
#include "kafka/coordinator/group_manager.h"

#include <gtest/gtest.h>

#include "kafka/coordinator/offset_records.h"
#include "log/record_batch.h"
#include "log/records.h"

namespace substrate::kafka::coordinator {
namespace {

constexpr std::int32_t session_ms = 10'000;
constexpr std::int32_t rebalance_ms = 30'000;

bytes b(std::string_view s) {
  return bytes(s.begin(), s.end());
}

class group_manager_test : public ::testing::Test {
protected:
  explicit group_manager_test(std::int64_t delay_ms = 0) : manager_(make_config(delay_ms)) {}

  static group_config make_config(std::int64_t delay_ms) {
    group_config c;
    c.initial_rebalance_delay_ms = delay_ms;
    c.member_id_seed = 42;
    return c;
  }

  join_request request(const std::string& member_id, std::vector<std::string> protocols = {"range", "roundrobin"},
                       std::optional<std::string> instance = std::nullopt) {
    join_request r;
    r.group_id = "g";
    r.member_id = member_id;
    r.group_instance_id = std::move(instance);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = rebalance_ms;
    r.protocol_type = "consumer";
    for (auto& p : protocols) r.protocols.push_back({p, b("meta-" + p + "-" + member_id)});
    return r;
  }

  // A JoinGroup whose answer lands in the returned slot (empty while parked).
  std::shared_ptr<std::optional<join_result>> join(join_request r) {
    auto slot = std::make_shared<std::optional<join_result>>();
    manager_.join(std::move(r), now_, [slot](join_result result) { *slot = std::move(result); });
    return slot;
  }
  // The two-step v4+ join: MEMBER_ID_REQUIRED, then the join with the given id (parked or not).
  std::pair<std::string, std::shared_ptr<std::optional<join_result>>> join_new(std::vector<std::string> protocols = {
                                                                                   "range", "roundrobin"}) {
    auto first = join(request("", protocols));
    EXPECT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, error_code::member_id_required);
    const std::string id = (*first)->member_id;
    EXPECT_FALSE(id.empty());
    return {id, join(request(id, protocols))};
  }

  // The first half of a v4+ join: the member id handed out with MEMBER_ID_REQUIRED (pending).
  std::string new_id(std::vector<std::string> protocols = {"range", "roundrobin"}) {
    auto first = join(request("", std::move(protocols)));
    EXPECT_EQ((*first)->error, error_code::member_id_required);
    return (*first)->member_id;
  }

  std::shared_ptr<std::optional<sync_result>> sync(const std::string& member_id, std::int32_t generation,
                                                   std::vector<std::pair<std::string, bytes>> assignments = {}) {
    auto slot = std::make_shared<std::optional<sync_result>>();
    sync_request r{"g", generation, member_id, std::nullopt, std::move(assignments)};
    manager_.sync(std::move(r), now_, [slot](sync_result result) { *slot = std::move(result); });
    return slot;
  }

  error_code heartbeat(const std::string& member_id, std::int32_t generation) {
    return manager_.heartbeat({"g", generation, member_id, std::nullopt}, now_);
  }

  void advance(std::int64_t ms) {
    now_ += ms;
    manager_.tick(now_);
  }

  // Two members, joined and synced: {leader, follower}, generation 1.
  std::pair<std::string, std::string> stable_pair() {
    const auto a = new_id();
    const auto c = new_id();
    auto ja = join(request(a));
    auto jc = join(request(c));
    EXPECT_TRUE(jc->has_value());
    EXPECT_TRUE(ja->has_value());
    auto sa = sync(a, 1, {{a, b("A")}, {c, b("C")}});
    auto sc = sync(c, 1);
    EXPECT_TRUE(sa->has_value() && sc->has_value());
    EXPECT_EQ(manager_.state_of("g"), group_state::stable);
    return {a, c};
  }

  group_manager manager_;
  std::int64_t now_ = 1'000'000;
};

TEST_F(group_manager_test, one_member_joins_leads_and_syncs) {
  auto [id, joined] = join_new();
  ASSERT_TRUE(joined->has_value()) << "a lone member completes at once with no initial delay";
  const join_result& r = **joined;
  EXPECT_EQ(r.error, error_code::none);
  EXPECT_EQ(r.generation_id, 1);
  EXPECT_EQ(r.leader, id);
  EXPECT_EQ(r.member_id, id);
  EXPECT_EQ(r.protocol_name, "range");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].metadata, b("meta-range-" + id));
  EXPECT_EQ(manager_.state_of("g"), group_state::completing_rebalance);
  EXPECT_EQ(heartbeat(id, 1), error_code::none);
  auto s = sync(id, 1, {{id, b("all")}});
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, error_code::none);
  EXPECT_EQ((*s)->assignment, b("all"));
  EXPECT_EQ((*s)->protocol_name, "range");
  EXPECT_EQ(manager_.state_of("g"), group_state::stable);
  // A repeated SyncGroup in Stable gets the stored assignment.
  EXPECT_EQ((*sync(id, 1))->assignment, b("all"));
  EXPECT_EQ(manager_.rebalances_total(), 1u);
}

TEST_F(group_manager_test, two_members_the_first_leads_and_followers_get_no_member_list) {
  const auto a = new_id();
  const auto c = new_id();
  auto ja = join(request(a));
  EXPECT_FALSE(ja->has_value()) << "waits for the other pending member";
  auto jc = join(request(c));
  ASSERT_TRUE(ja->has_value() && jc->has_value());
  EXPECT_EQ((*ja)->leader, a);
  EXPECT_EQ((*jc)->leader, a);
  EXPECT_EQ((*ja)->members.size(), 2u);
  EXPECT_TRUE((*jc)->members.empty());
  EXPECT_EQ((*ja)->members[0].member_id, a);
  EXPECT_EQ((*ja)->members[1].member_id, c);
  // The follower's sync waits for the leader's, whose assignments complete both.
  auto sc = sync(c, 1);
  EXPECT_FALSE(sc->has_value());
  auto sa = sync(a, 1, {{a, b("A")}, {c, b("C")}});
  ASSERT_TRUE(sa->has_value() && sc->has_value());
  EXPECT_EQ((*sa)->assignment, b("A"));
  EXPECT_EQ((*sc)->assignment, b("C"));
}

TEST_F(group_manager_test, a_member_left_out_by_the_leader_gets_an_empty_assignment) {
  const auto a = new_id();
  const auto c = new_id();
  auto ja = join(request(a));
  auto jc = join(request(c));
  auto sc = sync(c, 1);
  auto sa = sync(a, 1, {{a, b("A")}});
  ASSERT_TRUE(sc->has_value());
  EXPECT_EQ((*sc)->error, error_code::none);
  EXPECT_TRUE((*sc)->assignment.empty());
}

TEST_F(group_manager_test, protocol_is_the_most_voted_common_one_and_strangers_are_refused) {
  const auto a = new_id({"range", "roundrobin"});
  const auto c = new_id({"roundrobin", "range"});
  const auto d = new_id({"roundrobin"});
  auto ja = join(request(a, {"range", "roundrobin"}));
  auto jc = join(request(c, {"roundrobin", "range"}));
  auto jd = join(request(d, {"roundrobin"}));
  ASSERT_TRUE(jd->has_value());
  EXPECT_EQ((*jd)->protocol_name, "roundrobin");
  auto stranger = join(request("", {"RoundRobinAssigner"}));
  EXPECT_EQ((*stranger)->error, error_code::inconsistent_group_protocol);
  auto other_type = request("", {"range"});
  other_type.protocol_type = "connect";
  EXPECT_EQ((*join(other_type))->error, error_code::inconsistent_group_protocol);
}

TEST_F(group_manager_test, join_validation) {
  auto no_group = request("");
  no_group.group_id = "";
  EXPECT_EQ((*join(no_group))->error, error_code::invalid_group_id);
  auto short_session = request("");
  short_session.session_timeout_ms = 5999;
  EXPECT_EQ((*join(short_session))->error, error_code::invalid_session_timeout);
  auto long_session = request("");
  long_session.session_timeout_ms = 1'800'001;
  EXPECT_EQ((*join(long_session))->error, error_code::invalid_session_timeout);
  EXPECT_EQ((*join(request("made-up")))->error, error_code::unknown_member_id);
  auto no_protocols = request("", {});
  EXPECT_EQ((*join(no_protocols))->error, error_code::inconsistent_group_protocol);
  // v0-3 joins get no MEMBER_ID_REQUIRED round trip.
  auto old = request("");
  old.require_known_member_id = false;
  auto joined = join(old);
  ASSERT_TRUE(joined->has_value());
  EXPECT_EQ((*joined)->error, error_code::none);
  EXPECT_FALSE((*joined)->member_id.empty());
}

TEST_F(group_manager_test, heartbeat_errors) {
  EXPECT_EQ(manager_.heartbeat({"nope", 1, "x", std::nullopt}, now_), error_code::unknown_member_id);
  auto [a, c] = stable_pair();
  EXPECT_EQ(heartbeat(a, 1), error_code::none);
  EXPECT_EQ(heartbeat("stranger", 1), error_code::unknown_member_id);
  EXPECT_EQ(heartbeat(a, 0), error_code::illegal_generation);
  // A newcomer starts a rebalance; existing members learn it from their heartbeat.
  auto [d, jd] = join_new();
  EXPECT_FALSE(jd->has_value());
  EXPECT_EQ(manager_.state_of("g"), group_state::preparing_rebalance);
  EXPECT_EQ(heartbeat(a, 1), error_code::rebalance_in_progress);
  EXPECT_EQ(heartbeat(c, 1), error_code::rebalance_in_progress);
  // SyncGroup during PreparingRebalance, and with a stale generation.
  EXPECT_EQ((*sync(a, 1))->error, error_code::rebalance_in_progress);
  EXPECT_EQ((*sync(a, 7))->error, error_code::illegal_generation);
  auto ja = join(request(a));
  auto jc = join(request(c));
  ASSERT_TRUE(ja->has_value() && jc->has_value() && jd->has_value());
  EXPECT_EQ((*jd)->generation_id, 2);
  EXPECT_EQ((*ja)->leader, a) << "the leader keeps its role when it rejoins";
  EXPECT_EQ(heartbeat(a, 1), error_code::illegal_generation);
  EXPECT_EQ(heartbeat(a, 2), error_code::none);
}

TEST_F(group_manager_test, rejoins_rebalance_only_for_the_leader_or_new_protocols) {
  auto [a, c] = stable_pair();
  // A follower rejoining unchanged gets the current generation back at once.
  auto same = join(request(c));
  ASSERT_TRUE(same->has_value());
  EXPECT_EQ((*same)->generation_id, 1);
  EXPECT_EQ(manager_.state_of("g"), group_state::stable);
  // The leader rejoining starts a rebalance (it may have seen new topics).
  auto leader = join(request(a));
  EXPECT_FALSE(leader->has_value());
  EXPECT_EQ(manager_.state_of("g"), group_state::preparing_rebalance);
  auto follower = join(request(c));
  ASSERT_TRUE(leader->has_value() && follower->has_value());
  EXPECT_EQ((*leader)->generation_id, 2);
  // During CompletingRebalance an unchanged duplicate join is answered with the same result;
  // changed protocols start another rebalance.
  auto duplicate = join(request(c));
  ASSERT_TRUE(duplicate->has_value());
  EXPECT_EQ((*duplicate)->generation_id, 2);
  EXPECT_EQ(manager_.state_of("g"), group_state::completing_rebalance);
  auto changed = join(request(c, {"roundrobin"}));
  EXPECT_FALSE(changed->has_value());
  EXPECT_EQ(manager_.state_of("g"), group_state::preparing_rebalance);
  auto leader_again = join(request(a));
  ASSERT_TRUE(changed->has_value() && leader_again->has_value());
  EXPECT_EQ((*changed)->generation_id, 3);
  EXPECT_EQ((*changed)->protocol_name, "roundrobin") << "the only protocol both support";
}

TEST_F(group_manager_test, a_rebalance_answers_parked_syncs_with_rebalance_in_progress) {
  const auto a = new_id();
  const auto c = new_id();
  auto ja = join(request(a));
  auto jc = join(request(c));
  auto sc = sync(c, 1);
  EXPECT_FALSE(sc->has_value());
  auto [d, jd] = join_new();  // during CompletingRebalance
  ASSERT_TRUE(sc->has_value());
  EXPECT_EQ((*sc)->error, error_code::rebalance_in_progress);
}

TEST_F(group_manager_test, an_expired_session_removes_the_member_and_rebalances) {
  auto [a, c] = stable_pair();
  for (int i = 0; i < 3; ++i) {
    advance(session_ms / 3);
    EXPECT_EQ(heartbeat(a, 1), error_code::none);
  }
  ASSERT_TRUE(manager_.next_deadline_ms());
  advance(session_ms / 3);  // c has been silent for longer than its session timeout
  EXPECT_EQ(manager_.state_of("g"), group_state::preparing_rebalance);
  EXPECT_EQ(heartbeat(c, 1), error_code::unknown_member_id);
  EXPECT_EQ(heartbeat(a, 1), error_code::rebalance_in_progress);
  auto ja = join(request(a));
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ((*ja)->members.size(), 1u);
  EXPECT_EQ(manager_.describe("g").members.size(), 1u);
}

TEST_F(group_manager_test, members_that_do_not_rejoin_within_the_rebalance_timeout_are_removed) {
  auto [a, c] = stable_pair();
  auto [d, jd] = join_new();
  auto ja = join(request(a));
  EXPECT_FALSE(ja->has_value());
  // c keeps heartbeating (getting 27) but never rejoins; the rebalance timeout ends the wait.
  for (std::int64_t t = 0; t < rebalance_ms; t += 3000) {
    advance(3000);
    if (!ja->has_value()) {
      EXPECT_EQ(heartbeat(c, 1), error_code::rebalance_in_progress);
    }
  }
  advance(1);
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ((*ja)->members.size(), 2u);
  EXPECT_EQ(heartbeat(c, 1), error_code::unknown_member_id);
}

TEST_F(group_manager_test, a_pending_member_id_that_never_returns_expires) {
  auto first = join(request(""));
  ASSERT_EQ((*first)->error, error_code::member_id_required);
  auto [a, ja] = join_new();
  EXPECT_FALSE(ja->has_value()) << "waits for the pending member";
  advance(session_ms);
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->members.size(), 1u);
  EXPECT_EQ((*join(request((*first)->member_id)))->error, error_code::unknown_member_id) << "the id expired";
}

TEST_F(group_manager_test, leave_rebalances_and_the_last_leave_empties_the_group) {
  auto [a, c] = stable_pair();
  EXPECT_EQ(manager_.leave("g", {{"stranger", std::nullopt}}, now_), std::vector{error_code::unknown_member_id});
  EXPECT_EQ(manager_.leave("none", {{a, std::nullopt}}, now_), std::vector{error_code::unknown_member_id});
  EXPECT_EQ(manager_.leave("g", {{c, std::nullopt}}, now_), std::vector{error_code::none});
  EXPECT_EQ(manager_.state_of("g"), group_state::preparing_rebalance);
  auto ja = join(request(a));
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ(manager_.leave("g", {{a, std::nullopt}}, now_), std::vector{error_code::none});
  EXPECT_EQ(manager_.state_of("g"), group_state::empty);
  EXPECT_EQ(manager_.generation_of("g"), 3);
  EXPECT_EQ(heartbeat(a, 3), error_code::unknown_member_id);
  manager_.forget_empty_groups();
  EXPECT_FALSE(manager_.state_of("g")) << "no members and no offsets: forgotten";
}

TEST_F(group_manager_test, a_leaving_member_with_a_parked_join_is_answered) {
  auto [a, c] = stable_pair();
  auto [d, jd] = join_new();
  EXPECT_EQ(manager_.leave("g", {{d, std::nullopt}}, now_), std::vector{error_code::none});
  ASSERT_TRUE(jd->has_value());
  EXPECT_EQ((*jd)->error, error_code::unknown_member_id);
}

TEST_F(group_manager_test, abort_parked_answers_everyone) {
  const auto a = new_id();
  const auto c = new_id();
  auto ja = join(request(a));
  auto jc = join(request(c));
  auto sc = sync(c, 1);
  auto [d, jd] = join_new();
  EXPECT_FALSE(jd->has_value());
  manager_.abort_parked(error_code::not_coordinator);
  ASSERT_TRUE(jd->has_value());
  EXPECT_EQ((*jd)->error, error_code::not_coordinator);
}

class initial_delay_test : public group_manager_test {
protected:
  initial_delay_test() : group_manager_test(3000) {}
};

TEST_F(initial_delay_test, a_new_group_waits_and_newcomers_extend_the_wait) {
  auto [a, ja] = join_new();
  EXPECT_FALSE(ja->has_value());
  EXPECT_EQ(manager_.next_deadline_ms(), now_ + 3000);
  advance(1000);
  auto [c, jc] = join_new();
  advance(2999);
  EXPECT_FALSE(ja->has_value());
  advance(1);  // 3000 ms after c joined
  ASSERT_TRUE(ja->has_value() && jc->has_value());
  EXPECT_EQ((*ja)->members.size(), 2u);
  EXPECT_EQ((*ja)->generation_id, 1);
}

TEST_F(initial_delay_test, the_delay_is_capped_by_the_rebalance_timeout) {
  auto [a, ja] = join_new();
  const std::int64_t start = now_;
  while (!ja->has_value() && now_ - start < 2 * rebalance_ms) {
    advance(2000);
    join_new();  // keeps arriving
  }
  ASSERT_TRUE(ja->has_value());
  EXPECT_LE(now_ - start, rebalance_ms);
}

TEST_F(group_manager_test, a_static_member_rejoins_without_a_rebalance_and_fences_its_old_id) {
  auto first = join(request("", {"range"}, "instance-1"));
  ASSERT_TRUE(first->has_value()) << "static members skip MEMBER_ID_REQUIRED";
  const std::string old_id = (*first)->member_id;
  EXPECT_EQ((*first)->leader, old_id);
  ASSERT_EQ((*first)->members.size(), 1u);
  EXPECT_EQ((*first)->members[0].group_instance_id, "instance-1");
  EXPECT_EQ((*sync(old_id, 1, {{old_id, b("P")}}))->error, error_code::none);
  // The restarted instance comes back with an empty member id.
  auto again = join(request("", {"range"}, "instance-1"));
  ASSERT_TRUE(again->has_value());
  const join_result& r = **again;
  EXPECT_EQ(r.error, error_code::none);
  EXPECT_NE(r.member_id, old_id);
  EXPECT_EQ(r.generation_id, 1) << "no rebalance";
  EXPECT_EQ(r.leader, old_id) << "the old leader id, so the member does not reassign";
  EXPECT_EQ(manager_.state_of("g"), group_state::stable);
  EXPECT_EQ((*sync(r.member_id, 1))->assignment, b("P"));
  EXPECT_EQ(manager_.heartbeat({"g", 1, old_id, "instance-1"}, now_), error_code::fenced_instance_id);
  EXPECT_EQ(manager_.heartbeat({"g", 1, r.member_id, "instance-1"}, now_), error_code::none);
  // It leaves by instance id.
  EXPECT_EQ(manager_.leave("g", {{"", "instance-1"}}, now_), std::vector{error_code::none});
  EXPECT_EQ(manager_.state_of("g"), group_state::empty);
  EXPECT_EQ(manager_.leave("g", {{"", "instance-1"}}, now_), std::vector{error_code::unknown_member_id});
}

TEST_F(group_manager_test, offset_commit_rules) {
  // A standalone consumer (generation -1, no member id) commits to a group nobody joined.
  EXPECT_EQ(manager_.validate_commit({"solo", -1, "", std::nullopt}, now_), error_code::none);
  EXPECT_EQ(manager_.state_of("solo"), group_state::empty);
  EXPECT_EQ(manager_.validate_commit({"ghost", 3, "m", std::nullopt}, now_), error_code::unknown_member_id);
  EXPECT_EQ(manager_.validate_commit({"", -1, "", std::nullopt}, now_), error_code::invalid_group_id);
  EXPECT_EQ(manager_.validate_commit({std::string(0x8000, 'g'), -1, "", std::nullopt}, now_),
            error_code::invalid_group_id);

  const auto a = new_id();
  const auto c = new_id();
  auto ja = join(request(a));
  auto jc = join(request(c));
  // CompletingRebalance refuses commits.
  EXPECT_EQ(manager_.validate_commit({"g", 1, a, std::nullopt}, now_), error_code::rebalance_in_progress);
  sync(c, 1);
  sync(a, 1, {{a, b("A")}, {c, b("C")}});
  EXPECT_EQ(manager_.validate_commit({"g", 1, a, std::nullopt}, now_), error_code::none);
  EXPECT_EQ(manager_.validate_commit({"g", 0, a, std::nullopt}, now_), error_code::illegal_generation);
  EXPECT_EQ(manager_.validate_commit({"g", 1, "stranger", std::nullopt}, now_), error_code::unknown_member_id);
  EXPECT_EQ(manager_.validate_commit({"g", -1, "", std::nullopt}, now_), error_code::unknown_member_id)
      << "a standalone commit to a group with members";
  // PreparingRebalance still accepts the old generation (consumers commit before rejoining).
  join_new();
  EXPECT_EQ(manager_.state_of("g"), group_state::preparing_rebalance);
  EXPECT_EQ(manager_.validate_commit({"g", 1, a, std::nullopt}, now_), error_code::none);

  EXPECT_EQ(manager_.validate_partition(std::string(4096, 'm')), error_code::none);
  EXPECT_EQ(manager_.validate_partition(std::string(4097, 'm')), error_code::offset_metadata_too_large);
  EXPECT_EQ(manager_.validate_partition(std::nullopt), error_code::none);
}

TEST_F(group_manager_test, the_highest_log_offset_wins) {
  const topic_partition tp{"t", 0};
  manager_.store_offset("g", tp, {10, -1, "", 1}, 5);
  manager_.store_offset("g", tp, {7, -1, "", 1}, 3);  // completed late, written earlier
  EXPECT_EQ(manager_.offset("g", tp)->offset, 10);
  manager_.erase_offset("g", tp, 4);
  EXPECT_TRUE(manager_.offset("g", tp));
  manager_.erase_offset("g", tp, 6);
  EXPECT_FALSE(manager_.offset("g", tp));
  manager_.store_offset("g", tp, {11, -1, "", 1}, 5);
  EXPECT_FALSE(manager_.offset("g", tp)) << "older than the tombstone";
  manager_.store_offset("g", tp, {12, -1, "", 1}, 7);
  EXPECT_EQ(manager_.offset("g", tp)->offset, 12);
  EXPECT_EQ(manager_.offsets_of_topic("t").size(), 1u);
  EXPECT_TRUE(manager_.offsets_of_topic("u").empty());
}

TEST_F(group_manager_test, describe_and_list) {
  auto [a, c] = stable_pair();
  manager_.store_offset("other", {"t", 0}, {1, -1, "", 1}, 0);
  auto d = manager_.describe("g");
  EXPECT_EQ(d.state, group_state::stable);
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.client_id, "client");
    EXPECT_EQ(m.client_host, "/127.0.0.1");
    EXPECT_EQ(m.assignment, b(m.member_id == a ? "A" : "C"));
  }
  EXPECT_EQ(manager_.describe("unknown").state, group_state::dead);
  auto listed = manager_.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].group_id, "g");
  EXPECT_EQ(listed[1].group_id, "other");
  EXPECT_EQ(listed[1].state, group_state::empty);
  EXPECT_EQ(manager_.groups_in(group_state::stable), 1u);
  EXPECT_EQ(to_string(group_state::completing_rebalance), "CompletingRebalance");
}

// ---- __consumer_offsets records -------------------------------------------------------------

TEST(offset_records, keys_and_values_use_kafkas_layout) {
  const auto key = encode_offset_key({"g", {"t", 1}});
  const std::vector<std::byte> expected_key = {
      std::byte{0}, std::byte{1},                                // version 1
      std::byte{0}, std::byte{1}, std::byte{'g'},                // group
      std::byte{0}, std::byte{1}, std::byte{'t'},                // topic
      std::byte{0}, std::byte{0}, std::byte{0},   std::byte{1},  // partition
  };
  EXPECT_EQ(key, expected_key);
  const auto value = encode_offset_value({0x0102, 5, "m", 9});
  ASSERT_EQ(value.size(), 2u + 8 + 4 + 3 + 8);
  EXPECT_EQ(value[1], std::byte{3});  // version 3
  EXPECT_EQ(value[8], std::byte{1});
  EXPECT_EQ(value[9], std::byte{2});
  EXPECT_EQ(value[13], std::byte{5});  // leader epoch
  EXPECT_EQ(value[16], std::byte{'m'});
}

TEST(offset_records, a_manager_rebuilt_from_the_records_has_the_same_offsets) {
  std::vector<offset_record> first = {
      {{"g", {"t", 0}}, committed_offset{10, 2, "meta", 1000}},
      {{"g", {"t", 1}}, committed_offset{20, -1, "", 1000}},
      {{"h", {"t", 0}}, committed_offset{30, -1, "", 1000}},
  };
  std::vector<offset_record> second = {
      {{"g", {"t", 0}}, committed_offset{11, 2, "meta2", 2000}}, {{"g", {"t", 1}}, std::nullopt},  // dropped
  };
  auto batch1 = build_offset_batch(first, 1000);
  auto batch2 = build_offset_batch(second, 2000);
  log::set_base_offset(batch2, 3);
  std::vector<std::byte> topic = batch1;
  topic.insert(topic.end(), batch2.begin(), batch2.end());

  replay_stats stats;
  auto records = decode_offset_batches(topic, stats);
  ASSERT_TRUE(records) << records.error().message();
  EXPECT_EQ(stats.records, 5u);
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(stats.next_offset, 5);
  ASSERT_EQ(records->size(), 5u);
  EXPECT_EQ((*records)[3].log_offset, 3);
  EXPECT_EQ((*records)[0].record, first[0]);

  group_manager rebuilt(group_config{});
  for (const auto& r : *records) {
    if (r.record.value) {
      rebuilt.store_offset(r.record.key.group_id, r.record.key.partition, *r.record.value, r.log_offset);
    } else {
      rebuilt.erase_offset(r.record.key.group_id, r.record.key.partition, r.log_offset);
    }
  }
  EXPECT_EQ(rebuilt.offset("g", {"t", 0}), (committed_offset{11, 2, "meta2", 2000}));
  EXPECT_FALSE(rebuilt.offset("g", {"t", 1}));
  EXPECT_EQ(rebuilt.offset("h", {"t", 0})->offset, 30);
  EXPECT_EQ(rebuilt.offsets("g").size(), 1u);
}

TEST(offset_records, unknown_records_are_skipped_and_garbage_is_an_error) {
  log::batch_builder builder;
  const std::string group_metadata_key = std::string("\0\2\0\1g", 5);
  builder.add(group_metadata_key, std::string_view("whatever"), 1);
  builder.add(std::string_view("\0\1\0"), std::string_view("x"), 1);  // truncated key
  auto batch = builder.build();
  replay_stats stats;
  auto records = decode_offset_batches(batch, stats);
  ASSERT_TRUE(records);
  EXPECT_TRUE(records->empty());
  EXPECT_EQ(stats.skipped, 2u);
  batch[batch.size() - 1] ^= std::byte{0xff};  // CRC no longer matches
  EXPECT_FALSE(decode_offset_batches(batch, stats));
}

}  // namespace
}  // namespace substrate::kafka::coordinator
