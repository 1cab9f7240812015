#pragma once
// The consumer-group coordinator's pure core (spec kafka-compat.md section 4): every group's
// state machine (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead), member ids,
// generations, leader election, protocol selection, parked JoinGroup / SyncGroup answers,
// session and rebalance timeouts, the initial rebalance delay, static membership, and the
// committed offsets. No sockets, no clock, no persistence: requests come in as plain structs
// with the current time (`now_ms`, any monotonic milliseconds), answers go out through
// callbacks (at once or later, when the group moves on), and time advances only through the
// `now_ms` of calls and `tick()`. coordinator.h drives it from asio; the unit tests drive it
// directly with a manual clock.
//
// Persistence is the caller's: OffsetCommit is validated here (validate_commit), written to the
// log by the caller, and stored here once durable (store_offset); start-up replays the log
// through store_offset / erase_offset. The highest log offset wins, so stores that complete out
// of order leave the same state as a replay.
//
// Ownership and threading: one group_manager per broker, owned by the coordinator and touched
// only from its shard (single-threaded, no locks). Callbacks run synchronously inside the call
// that completes them and must not call back into the manager.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/protocol/error_codes.h"
#include "kafka/protocol/primitives.h"

namespace substrate::kafka::coordinator {

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };

// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
[[nodiscard]] std::string_view to_string(group_state state);
inline constexpr group_state all_group_states[] = {group_state::empty, group_state::preparing_rebalance,
                                                   group_state::completing_rebalance, group_state::stable,
                                                   group_state::dead};

struct group_config {
  std::int64_t initial_rebalance_delay_ms = 3000;   // group.initial.rebalance.delay.ms
  std::int32_t min_session_timeout_ms = 6000;       // group.min.session.timeout.ms
  std::int32_t max_session_timeout_ms = 1'800'000;  // group.max.session.timeout.ms
  std::int32_t max_group_size = 1000;               // group.max.size (Kafka: unlimited)
  std::size_t metadata_bytes_max = 4096;            // offset.metadata.max.bytes
  std::uint64_t member_id_seed = 0;                 // seeds the random part of member ids
};

struct protocol {
  std::string name;
  bytes metadata;
};

struct join_request {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;  // -1 (JoinGroup v0): the session timeout
  std::string protocol_type;
  std::vector<protocol> protocols;
  bool require_known_member_id = true;  // JoinGroup v4+: MEMBER_ID_REQUIRED on a first join
};

struct join_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  bytes metadata;
};

struct join_result {
  error_code error = error_code::none;
  std::int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<join_member> members;  // the leader's answer only
};

struct sync_request {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<std::string, bytes>> assignments;  // the leader's only
};

struct sync_result {
  error_code error = error_code::none;
  std::string protocol_type;
  std::string protocol_name;
  bytes assignment;
};

struct heartbeat_request {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct member_identity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct described_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  bytes metadata;  // for the selected protocol
  bytes assignment;
};

struct described_group {
  std::string group_id;
  group_state state = group_state::dead;
  std::string protocol_type;
  std::string protocol_name;
  std::vector<described_member> members;
};

struct listed_group {
  std::string group_id;
  std::string protocol_type;
  group_state state = group_state::empty;
};

struct commit_identity {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

// A committed offset: the next offset to consume, as the client sent it.
struct committed_offset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp_ms = -1;
  friend bool operator==(const committed_offset&, const committed_offset&) = default;
};

using topic_partition = std::pair<std::string, std::int32_t>;
using join_callback = std::function<void(join_result)>;
using sync_callback = std::function<void(sync_result)>;

class group_manager {
public:
  explicit group_manager(group_config config);
  ~group_manager();
  group_manager(const group_manager&) = delete;
  group_manager& operator=(const group_manager&) = delete;

  // JoinGroup (spec 4.3). `done` runs at once (errors, MEMBER_ID_REQUIRED, duplicate joins) or
  // when the rebalance completes.
  void join(join_request request, std::int64_t now_ms, join_callback done);
  // SyncGroup (spec 4.4). `done` runs at once, or for a parked follower when the leader syncs.
  void sync(sync_request request, std::int64_t now_ms, sync_callback done);
  [[nodiscard]] error_code heartbeat(const heartbeat_request& request, std::int64_t now_ms);
  // LeaveGroup: one error per member (v3+); v0-2 report the single member's as top-level.
  [[nodiscard]] std::vector<error_code> leave(const std::string& group_id, const std::vector<member_identity>& members,
                                              std::int64_t now_ms);

  // Runs everything due at `now_ms`: expired sessions, pending member ids, rebalance timeouts,
  // the end of an initial rebalance delay.
  void tick(std::int64_t now_ms);
  // When tick() next has something to do; nullopt when nothing is scheduled.
  [[nodiscard]] std::optional<std::int64_t> next_deadline_ms() const;

  [[nodiscard]] described_group describe(const std::string& group_id) const;
  [[nodiscard]] std::vector<listed_group> list() const;
  [[nodiscard]] std::optional<group_state> state_of(const std::string& group_id) const;
  [[nodiscard]] std::int32_t generation_of(const std::string& group_id) const;

  // OffsetCommit's group-level checks (spec 4.5), the same error for every partition. A commit
  // with generation < 0 to a group that does not exist creates it (Empty).
  [[nodiscard]] error_code validate_commit(const commit_identity& who, std::int64_t now_ms);
  // Per-partition check that needs no topic knowledge: metadata size.
  [[nodiscard]] error_code validate_partition(const std::optional<std::string>& metadata) const;
  // Records a durable commit (or a replayed one). `log_offset` is the record's offset in the
  // internal topic; an older record than the one stored is ignored.
  void store_offset(const std::string& group_id, const topic_partition& partition, committed_offset value,
                    std::int64_t log_offset);
  // A tombstone (replayed or written): forgets the offset unless a newer record set it.
  void erase_offset(const std::string& group_id, const topic_partition& partition, std::int64_t log_offset);
  // The committed offset, if any. Unknown groups have none.
  [[nodiscard]] std::optional<committed_offset> offset(const std::string& group_id,
                                                       const topic_partition& partition) const;
  // Every committed partition of a group, sorted.
  [[nodiscard]] std::vector<std::pair<topic_partition, committed_offset>> offsets(const std::string& group_id) const;
  // Every (group, partition) with a committed offset for `topic`: what a deleted topic drops.
  [[nodiscard]] std::vector<std::pair<std::string, std::int32_t>> offsets_of_topic(std::string_view topic) const;
  // Removes Empty groups left without offsets (after a topic deletion or a replay).
  void forget_empty_groups();

  // Answers every parked JoinGroup and SyncGroup with `error` (shutdown).
  void abort_parked(error_code error);

  // Counters for the metrics: rebalances started, groups per state.
  [[nodiscard]] std::uint64_t rebalances_total() const { return rebalances_; }
  [[nodiscard]] std::size_t groups_in(group_state state) const;
  [[nodiscard]] std::size_t group_count() const;

  struct group;

private:
  group* find(const std::string& group_id);
  const group* find(const std::string& group_id) const;
  group& create(const std::string& group_id);
  std::string new_member_id(std::string_view client_id);

  void new_member_join(group& g, join_request& request, std::int64_t now_ms, join_callback& done);
  void current_member_join(group& g, join_request& request, std::int64_t now_ms, join_callback& done);
  void add_member_and_rebalance(group& g, std::string member_id, join_request& request, std::int64_t now_ms,
                                join_callback done);
  void update_member_and_rebalance(group& g, const std::string& member_id, join_request& request, std::int64_t now_ms,
                                   join_callback done);
  void replace_static_member(group& g, const std::string& old_id, join_request& request, std::int64_t now_ms,
                             join_callback done);
  void prepare_rebalance(group& g, std::int64_t now_ms, std::string_view reason);
  void maybe_prepare_rebalance(group& g, std::int64_t now_ms, std::string_view reason);
  void try_complete_join(group& g, std::int64_t now_ms);
  void complete_join(group& g, std::int64_t now_ms);
  void remove_member(group& g, const std::string& member_id, std::int64_t now_ms);
  void expire(group& g, std::int64_t now_ms);
  join_result current_generation_answer(const group& g, const std::string& member_id, bool with_members) const;

  group_config config_;
  std::map<std::string, std::unique_ptr<group>, std::less<>> groups_;
  std::mt19937_64 random_;
  std::uint64_t rebalances_ = 0;
};

}  // namespace substrate::kafka::coordinator
