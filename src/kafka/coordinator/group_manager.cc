#include "kafka/coordinator/group_manager.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/assert.h"
#include "kafka/server/logger.h"

namespace substrate::kafka::coordinator {

std::string_view to_string(group_state state) {
  switch (state) {
    case group_state::empty:
      return "Empty";
    case group_state::preparing_rebalance:
      return "PreparingRebalance";
    case group_state::completing_rebalance:
      return "CompletingRebalance";
    case group_state::stable:
      return "Stable";
    case group_state::dead:
      return "Dead";
  }
  return "Dead";
}

namespace {

struct member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<protocol> protocols;
  bytes assignment;
  join_callback pending_join;  // set while a JoinGroup is parked
  sync_callback pending_sync;  // set while a SyncGroup is parked
  std::int64_t last_heartbeat_ms = 0;
  std::uint64_t join_sequence = 0;  // who joined first (leader choice)

  [[nodiscard]] bool awaiting_join() const { return static_cast<bool>(pending_join); }
  [[nodiscard]] bool awaiting_sync() const { return static_cast<bool>(pending_sync); }
  [[nodiscard]] std::int64_t session_deadline_ms() const { return last_heartbeat_ms + session_timeout_ms; }
  [[nodiscard]] bool matches(const std::vector<protocol>& other) const {
    if (other.size() != protocols.size()) return false;
    for (std::size_t i = 0; i < other.size(); ++i) {
      if (other[i].name != protocols[i].name || other[i].metadata != protocols[i].metadata) return false;
    }
    return true;
  }
  [[nodiscard]] const bytes* metadata_for(std::string_view name) const {
    for (const auto& p : protocols) {
      if (p.name == name) return &p.metadata;
    }
    return nullptr;
  }
};

struct stored_offset {
  committed_offset value;
  std::int64_t log_offset = -1;
};

}  // namespace

struct group_manager::group {
  std::string id;
  group_state state = group_state::empty;
  std::int32_t generation = 0;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  std::map<std::string, member> members;
  std::uint64_t next_sequence = 0;
  std::map<std::string, std::int64_t> pending;         // member ids handed out with MEMBER_ID_REQUIRED -> expiry
  std::map<std::string, std::string> static_members;   // group.instance.id -> member id
  std::optional<std::int64_t> rebalance_deadline_ms;   // while PreparingRebalance
  std::optional<std::int64_t> initial_delay_until_ms;  // while an initially empty group waits
  std::int64_t initial_delay_limit_ms = 0;
  std::map<topic_partition, stored_offset> offsets;
  std::map<topic_partition, std::int64_t> erased;  // log offset of the latest tombstone

  [[nodiscard]] bool fenced(const std::optional<std::string>& instance_id, const std::string& member_id) const {
    if (!instance_id) return false;
    auto it = static_members.find(*instance_id);
    return it != static_members.end() && it->second != member_id;
  }
  [[nodiscard]] std::vector<std::string> candidate_protocols() const {
    std::vector<std::string> out;
    if (members.empty()) return out;
    const member& first = members.begin()->second;
    for (const auto& p : first.protocols) {
      bool everyone = std::all_of(members.begin(), members.end(),
                                  [&](const auto& m) { return m.second.metadata_for(p.name) != nullptr; });
      if (everyone) out.push_back(p.name);
    }
    return out;
  }
  [[nodiscard]] bool supports(const std::string& type, const std::vector<protocol>& protocols) const {
    if (members.empty()) return !type.empty() && !protocols.empty();
    if (type != protocol_type) return false;
    const auto candidates = candidate_protocols();
    return std::any_of(protocols.begin(), protocols.end(), [&](const protocol& p) {
      return std::find(candidates.begin(), candidates.end(), p.name) != candidates.end();
    });
  }
  // Each member votes for its first candidate; the most votes win, ties go to the earlier
  // candidate in the first member's preference order.
  [[nodiscard]] std::string select_protocol() const {
    const auto candidates = candidate_protocols();
    std::map<std::string, std::size_t> votes;
    for (const auto& [id, m] : members) {
      for (const auto& p : m.protocols) {
        if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
          ++votes[p.name];
          break;
        }
      }
    }
    std::string best;
    std::size_t best_votes = 0;
    for (const auto& c : candidates) {
      if (votes[c] > best_votes) {
        best = c;
        best_votes = votes[c];
      }
    }
    return best;
  }
  [[nodiscard]] std::string first_member() const {
    const member* first = nullptr;
    for (const auto& [id, m] : members) {
      if (!first || m.join_sequence < first->join_sequence) first = &m;
    }
    return first ? first->id : std::string();
  }
  [[nodiscard]] bool all_joined() const {
    return pending.empty() &&
           std::all_of(members.begin(), members.end(), [](const auto& m) { return m.second.awaiting_join(); });
  }
};

group_manager::group_manager(group_config config) : config_(config), random_(config.member_id_seed) {}

group_manager::~group_manager() = default;

group_manager::group* group_manager::find(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const group_manager::group* group_manager::find(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

group_manager::group& group_manager::create(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (!slot) {
    slot = std::make_unique<group>();
    slot->id = group_id;
  }
  return *slot;
}

// Kafka's form: the client id, a dash and a random UUID.
std::string group_manager::new_member_id(std::string_view client_id) {
  const std::uint64_t high = random_();
  const std::uint64_t low = random_();
  return fmt::format("{}-{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", client_id, high >> 32, (high >> 16) & 0xffff,
                     high & 0xfff, 0x8000 | ((low >> 48) & 0x3fff), low & 0xffffffffffffULL);
}

// ---- JoinGroup --------------------------------------------------------------------------------

void group_manager::join(join_request request, std::int64_t now_ms, join_callback done) {
  auto fail = [&](error_code e) {
    join_result r;
    r.error = e;
    r.member_id = request.member_id;
    done(std::move(r));
  };
  if (request.group_id.empty()) return fail(error_code::invalid_group_id);
  if (request.session_timeout_ms < config_.min_session_timeout_ms ||
      request.session_timeout_ms > config_.max_session_timeout_ms) {
    return fail(error_code::invalid_session_timeout);
  }
  if (request.rebalance_timeout_ms < 0) request.rebalance_timeout_ms = request.session_timeout_ms;
  group* g = find(request.group_id);
  if (!g) {
    if (!request.member_id.empty()) return fail(error_code::unknown_member_id);
    g = &create(request.group_id);
  }
  if (g->state == group_state::dead) return fail(error_code::coordinator_not_available);
  if (!g->supports(request.protocol_type, request.protocols)) return fail(error_code::inconsistent_group_protocol);
  if (request.member_id.empty()) {
    new_member_join(*g, request, now_ms, done);
  } else {
    current_member_join(*g, request, now_ms, done);
  }
}

void group_manager::new_member_join(group& g, join_request& request, std::int64_t now_ms, join_callback& done) {
  if (request.group_instance_id) {
    auto it = g.static_members.find(*request.group_instance_id);
    if (it != g.static_members.end() && g.members.contains(it->second)) {
      replace_static_member(g, it->second, request, now_ms, std::move(done));
      return;
    }
  }
  if (g.members.size() + g.pending.size() >= static_cast<std::size_t>(config_.max_group_size)) {
    join_result r;
    r.error = error_code::group_max_size_reached;
    done(std::move(r));
    return;
  }
  std::string id = new_member_id(request.client_id);
  if (!request.group_instance_id && request.require_known_member_id) {
    g.pending[id] = now_ms + request.session_timeout_ms;
    join_result r;
    r.error = error_code::member_id_required;
    r.member_id = std::move(id);
    done(std::move(r));
    return;
  }
  add_member_and_rebalance(g, std::move(id), request, now_ms, std::move(done));
}

void group_manager::current_member_join(group& g, join_request& request, std::int64_t now_ms, join_callback& done) {
  auto fail = [&](error_code e) {
    join_result r;
    r.error = e;
    r.member_id = request.member_id;
    done(std::move(r));
  };
  if (g.fenced(request.group_instance_id, request.member_id)) return fail(error_code::fenced_instance_id);
  if (auto p = g.pending.find(request.member_id); p != g.pending.end()) {
    g.pending.erase(p);
    add_member_and_rebalance(g, request.member_id, request, now_ms, std::move(done));
    return;
  }
  auto it = g.members.find(request.member_id);
  if (it == g.members.end()) return fail(error_code::unknown_member_id);
  member& m = it->second;
  m.last_heartbeat_ms = now_ms;
  switch (g.state) {
    case group_state::preparing_rebalance:
      update_member_and_rebalance(g, m.id, request, now_ms, std::move(done));
      return;
    case group_state::completing_rebalance:
      if (m.matches(request.protocols)) {
        done(current_generation_answer(g, m.id, m.id == g.leader));
      } else {
        update_member_and_rebalance(g, m.id, request, now_ms, std::move(done));
      }
      return;
    case group_state::stable:
      if (m.id == g.leader || !m.matches(request.protocols)) {
        update_member_and_rebalance(g, m.id, request, now_ms, std::move(done));
      } else {
        done(current_generation_answer(g, m.id, false));
      }
      return;
    case group_state::empty:
    case group_state::dead:
      return fail(error_code::unknown_member_id);
  }
}

void group_manager::add_member_and_rebalance(group& g, std::string member_id, join_request& request,
                                             std::int64_t now_ms, join_callback done) {
  member m;
  m.id = member_id;
  m.instance_id = request.group_instance_id;
  m.client_id = request.client_id;
  m.client_host = request.client_host;
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = request.rebalance_timeout_ms;
  m.protocol_type = request.protocol_type;
  m.protocols = std::move(request.protocols);
  m.last_heartbeat_ms = now_ms;
  m.join_sequence = g.next_sequence++;
  m.pending_join = std::move(done);
  if (g.members.empty()) g.protocol_type = m.protocol_type;
  if (m.instance_id) g.static_members[*m.instance_id] = member_id;
  g.members.emplace(member_id, std::move(m));
  if (g.leader.empty()) g.leader = member_id;
  if (g.state == group_state::preparing_rebalance && g.initial_delay_until_ms) {
    // A newcomer during the initial delay extends it, up to the rebalance timeout.
    g.initial_delay_until_ms = std::min(now_ms + config_.initial_rebalance_delay_ms, g.initial_delay_limit_ms);
  }
  maybe_prepare_rebalance(g, now_ms, "a member joined");
  try_complete_join(g, now_ms);
}

void group_manager::update_member_and_rebalance(group& g, const std::string& member_id, join_request& request,
                                                std::int64_t now_ms, join_callback done) {
  member& m = g.members.at(member_id);
  m.protocols = std::move(request.protocols);
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = request.rebalance_timeout_ms;
  m.client_id = request.client_id;
  m.client_host = request.client_host;
  if (m.pending_join) {
    // A second JoinGroup replaces the parked one; the first still gets an answer so that its
    // connection's later responses are not held behind it.
    join_result stale;
    stale.error = error_code::rebalance_in_progress;
    stale.member_id = member_id;
    std::exchange(m.pending_join, {})(std::move(stale));
  }
  m.pending_join = std::move(done);
  maybe_prepare_rebalance(g, now_ms, "a member rejoined (leader or new protocols)");
  try_complete_join(g, now_ms);
}

// KIP-345: a known group.instance.id joins with an empty member id (a restarted static member).
// It takes over the old member under a new id; the old id is fenced from now on.
void group_manager::replace_static_member(group& g, const std::string& old_id, join_request& request,
                                          std::int64_t now_ms, join_callback done) {
  auto node = g.members.extract(old_id);
  member m = std::move(node.mapped());
  if (m.pending_join) {
    join_result fenced;
    fenced.error = error_code::fenced_instance_id;
    fenced.member_id = old_id;
    std::exchange(m.pending_join, {})(std::move(fenced));
  }
  if (m.pending_sync) {
    sync_result fenced;
    fenced.error = error_code::fenced_instance_id;
    std::exchange(m.pending_sync, {})(std::move(fenced));
  }
  const std::string new_id = new_member_id(request.client_id);
  const std::string old_leader = g.leader;
  const bool protocols_changed = !m.matches(request.protocols);
  m.id = new_id;
  m.client_id = request.client_id;
  m.client_host = request.client_host;
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = request.rebalance_timeout_ms;
  m.protocols = std::move(request.protocols);
  m.last_heartbeat_ms = now_ms;
  g.static_members[*request.group_instance_id] = new_id;
  if (g.leader == old_id) g.leader = new_id;
  auto& stored = g.members.emplace(new_id, std::move(m)).first->second;
  switch (g.state) {
    case group_state::stable:
      if (!protocols_changed && g.select_protocol() == g.protocol_name) {
        // No rebalance: the member gets the current generation back. The leader id stays the
        // old one, so a returning leader does not run a pointless assignment (Kafka does this).
        join_result r = current_generation_answer(g, new_id, false);
        r.leader = old_leader;
        done(std::move(r));
        return;
      }
      stored.pending_join = std::move(done);
      prepare_rebalance(g, now_ms, "a static member rejoined with new protocols");
      try_complete_join(g, now_ms);
      return;
    case group_state::completing_rebalance:
      // The leader may already assign the old id: rebalance again.
      stored.pending_join = std::move(done);
      prepare_rebalance(g, now_ms, "a static member rejoined during the sync");
      try_complete_join(g, now_ms);
      return;
    case group_state::preparing_rebalance:
      stored.pending_join = std::move(done);
      try_complete_join(g, now_ms);
      return;
    case group_state::empty:
    case group_state::dead:
      break;
  }
  // Empty groups have no members, so no static member to replace.
  SUBSTRATE_ASSERT(false, "static member {} replaced in group {} in state {}", old_id, g.id, to_string(g.state));
}

// ---- rebalancing ------------------------------------------------------------------------------

void group_manager::maybe_prepare_rebalance(group& g, std::int64_t now_ms, std::string_view reason) {
  if (g.state == group_state::stable || g.state == group_state::completing_rebalance || g.state == group_state::empty) {
    prepare_rebalance(g, now_ms, reason);
  }
}

void group_manager::prepare_rebalance(group& g, std::int64_t now_ms, std::string_view reason) {
  if (g.state == group_state::completing_rebalance) {
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      if (m.pending_sync) {
        sync_result r;
        r.error = error_code::rebalance_in_progress;
        std::exchange(m.pending_sync, {})(std::move(r));
      }
    }
  }
  const bool was_empty = g.state == group_state::empty;
  kafka_log.info("preparing to rebalance group", {{"group", g.id},
                                                  {"from", to_string(g.state)},
                                                  {"generation", g.generation},
                                                  {"members", g.members.size()},
                                                  {"reason", reason}});
  g.state = group_state::preparing_rebalance;
  ++rebalances_;
  std::int64_t timeout_ms = 0;
  for (const auto& [id, m] : g.members) timeout_ms = std::max<std::int64_t>(timeout_ms, m.rebalance_timeout_ms);
  g.rebalance_deadline_ms = now_ms + timeout_ms;
  g.initial_delay_until_ms.reset();
  if (was_empty && config_.initial_rebalance_delay_ms > 0) {
    g.initial_delay_until_ms = now_ms + std::min(config_.initial_rebalance_delay_ms, timeout_ms);
    g.initial_delay_limit_ms = now_ms + timeout_ms;
  }
}

void group_manager::try_complete_join(group& g, std::int64_t now_ms) {
  if (g.state != group_state::preparing_rebalance) return;
  if (g.initial_delay_until_ms) return;  // tick() completes it when the delay ends
  if (g.all_joined()) complete_join(g, now_ms);
}

void group_manager::complete_join(group& g, std::int64_t now_ms) {
  // Members that did not rejoin in time are out.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join()) gone.push_back(id);
  }
  for (const auto& id : gone) {
    member& m = g.members.at(id);
    if (m.instance_id) g.static_members.erase(*m.instance_id);
    if (m.pending_sync) {
      sync_result r;
      r.error = error_code::unknown_member_id;
      std::exchange(m.pending_sync, {})(std::move(r));
    }
    g.members.erase(id);
  }
  g.rebalance_deadline_ms.reset();
  g.initial_delay_until_ms.reset();
  ++g.generation;
  kafka_log.info(
      "group rebalanced",
      {{"group", g.id}, {"generation", g.generation}, {"members", g.members.size()}, {"removed", gone.size()}});
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.protocol_name.clear();
    g.leader.clear();
    return;
  }
  g.protocol_name = g.select_protocol();
  if (!g.members.contains(g.leader)) g.leader = g.first_member();
  g.state = group_state::completing_rebalance;
  std::vector<std::pair<join_callback, join_result>> answers;
  for (auto& [id, m] : g.members) {
    m.last_heartbeat_ms = now_ms;
    answers.emplace_back(std::exchange(m.pending_join, {}), current_generation_answer(g, id, id == g.leader));
  }
  for (auto& [callback, r] : answers) callback(std::move(r));
}

join_result group_manager::current_generation_answer(const group& g, const std::string& member_id,
                                                     bool with_members) const {
  join_result r;
  r.generation_id = g.generation;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader;
  r.member_id = member_id;
  if (with_members) {
    std::vector<const member*> ordered;
    for (const auto& [id, m] : g.members) ordered.push_back(&m);
    std::sort(ordered.begin(), ordered.end(),
              [](const member* a, const member* b) { return a->join_sequence < b->join_sequence; });
    for (const member* m : ordered) {
      const bytes* metadata = m->metadata_for(g.protocol_name);
      r.members.push_back({m->id, m->instance_id, metadata ? *metadata : bytes()});
    }
  }
  return r;
}

void group_manager::remove_member(group& g, const std::string& member_id, std::int64_t now_ms) {
  auto node = g.members.extract(member_id);
  if (node.empty()) return;
  member& m = node.mapped();
  if (m.pending_join) {
    join_result r;
    r.error = error_code::unknown_member_id;
    r.member_id = member_id;
    std::exchange(m.pending_join, {})(std::move(r));
  }
  if (m.pending_sync) {
    sync_result r;
    r.error = error_code::unknown_member_id;
    std::exchange(m.pending_sync, {})(std::move(r));
  }
  if (m.instance_id) {
    auto it = g.static_members.find(*m.instance_id);
    if (it != g.static_members.end() && it->second == member_id) g.static_members.erase(it);
  }
  if (g.leader == member_id) g.leader = g.first_member();
  if (g.state == group_state::stable || g.state == group_state::completing_rebalance)
    prepare_rebalance(g, now_ms, "a member left or expired");
  try_complete_join(g, now_ms);
}

// ---- SyncGroup, Heartbeat, LeaveGroup -----------------------------------------------------------

void group_manager::sync(sync_request request, std::int64_t now_ms, sync_callback done) {
  auto fail = [&](error_code e) {
    sync_result r;
    r.error = e;
    done(std::move(r));
  };
  group* g = find(request.group_id);
  if (!g) return fail(error_code::unknown_member_id);
  if (g->state == group_state::dead) return fail(error_code::coordinator_not_available);
  if (g->fenced(request.group_instance_id, request.member_id)) return fail(error_code::fenced_instance_id);
  auto it = g->members.find(request.member_id);
  if (it == g->members.end()) return fail(error_code::unknown_member_id);
  if (request.generation_id != g->generation) return fail(error_code::illegal_generation);
  member& m = it->second;
  switch (g->state) {
    case group_state::empty:
    case group_state::dead:
      return fail(error_code::unknown_member_id);
    case group_state::preparing_rebalance:
      return fail(error_code::rebalance_in_progress);
    case group_state::stable: {
      m.last_heartbeat_ms = now_ms;
      sync_result r;
      r.protocol_type = g->protocol_type;
      r.protocol_name = g->protocol_name;
      r.assignment = m.assignment;
      done(std::move(r));
      return;
    }
    case group_state::completing_rebalance:
      break;
  }
  m.last_heartbeat_ms = now_ms;
  if (m.pending_sync) {
    sync_result stale;
    stale.error = error_code::rebalance_in_progress;
    std::exchange(m.pending_sync, {})(std::move(stale));
  }
  m.pending_sync = std::move(done);
  if (m.id != g->leader) return;
  // The leader's assignments complete the rebalance; members it left out get nothing.
  for (auto& [id, each] : g->members) each.assignment.clear();
  for (auto& [id, assignment] : request.assignments) {
    if (auto target = g->members.find(id); target != g->members.end()) target->second.assignment = assignment;
  }
  g->state = group_state::stable;
  std::vector<std::pair<sync_callback, sync_result>> answers;
  for (auto& [id, each] : g->members) {
    if (!each.pending_sync) continue;
    sync_result r;
    r.protocol_type = g->protocol_type;
    r.protocol_name = g->protocol_name;
    r.assignment = each.assignment;
    answers.emplace_back(std::exchange(each.pending_sync, {}), std::move(r));
  }
  for (auto& [callback, r] : answers) callback(std::move(r));
}

error_code group_manager::heartbeat(const heartbeat_request& request, std::int64_t now_ms) {
  group* g = find(request.group_id);
  if (!g) return error_code::unknown_member_id;
  if (g->state == group_state::dead) return error_code::coordinator_not_available;
  if (g->fenced(request.group_instance_id, request.member_id)) return error_code::fenced_instance_id;
  auto it = g->members.find(request.member_id);
  if (it == g->members.end()) return error_code::unknown_member_id;
  if (request.generation_id != g->generation) return error_code::illegal_generation;
  switch (g->state) {
    case group_state::empty:
    case group_state::dead:
      return error_code::unknown_member_id;
    case group_state::preparing_rebalance:
      it->second.last_heartbeat_ms = now_ms;
      return error_code::rebalance_in_progress;
    case group_state::completing_rebalance:
    case group_state::stable:
      it->second.last_heartbeat_ms = now_ms;
      return error_code::none;
  }
  return error_code::none;
}

std::vector<error_code> group_manager::leave(const std::string& group_id, const std::vector<member_identity>& members,
                                             std::int64_t now_ms) {
  std::vector<error_code> out;
  group* g = find(group_id);
  for (const auto& who : members) {
    if (!g) {
      out.push_back(error_code::unknown_member_id);
      continue;
    }
    if (g->state == group_state::dead) {
      out.push_back(error_code::coordinator_not_available);
      continue;
    }
    if (who.group_instance_id) {
      auto it = g->static_members.find(*who.group_instance_id);
      if (it == g->static_members.end()) {
        out.push_back(error_code::unknown_member_id);
      } else if (!who.member_id.empty() && it->second != who.member_id) {
        out.push_back(error_code::fenced_instance_id);
      } else {
        const std::string id = it->second;
        remove_member(*g, id, now_ms);
        out.push_back(error_code::none);
      }
      continue;
    }
    if (g->pending.erase(who.member_id) > 0) {
      try_complete_join(*g, now_ms);
      out.push_back(error_code::none);
    } else if (!g->members.contains(who.member_id)) {
      out.push_back(error_code::unknown_member_id);
    } else {
      remove_member(*g, who.member_id, now_ms);
      out.push_back(error_code::none);
    }
  }
  return out;
}

// ---- time -------------------------------------------------------------------------------------

void group_manager::expire(group& g, std::int64_t now_ms) {
  // A parked JoinGroup or SyncGroup keeps its member alive: the rebalance timeout governs it.
  std::vector<std::string> expired;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join() && !m.awaiting_sync() && now_ms >= m.session_deadline_ms()) expired.push_back(id);
  }
  for (const auto& id : expired) remove_member(g, id, now_ms);
  bool pending_expired = false;
  for (auto it = g.pending.begin(); it != g.pending.end();) {
    if (now_ms >= it->second) {
      it = g.pending.erase(it);
      pending_expired = true;
    } else {
      ++it;
    }
  }
  if (pending_expired) try_complete_join(g, now_ms);
  if (g.state != group_state::preparing_rebalance) return;
  if (g.initial_delay_until_ms) {
    if (now_ms >= *g.initial_delay_until_ms) complete_join(g, now_ms);
  } else if (g.rebalance_deadline_ms && now_ms >= *g.rebalance_deadline_ms) {
    complete_join(g, now_ms);
  }
}

void group_manager::tick(std::int64_t now_ms) {
  for (auto& [id, g] : groups_) expire(*g, now_ms);
}

std::optional<std::int64_t> group_manager::next_deadline_ms() const {
  std::optional<std::int64_t> next;
  auto consider = [&](std::int64_t t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [gid, g] : groups_) {
    for (const auto& [id, m] : g->members) {
      if (!m.awaiting_join() && !m.awaiting_sync()) consider(m.session_deadline_ms());
    }
    for (const auto& [id, t] : g->pending) consider(t);
    if (g->state == group_state::preparing_rebalance) {
      if (g->initial_delay_until_ms) {
        consider(*g->initial_delay_until_ms);
      } else if (g->rebalance_deadline_ms) {
        consider(*g->rebalance_deadline_ms);
      }
    }
  }
  return next;
}

void group_manager::abort_parked(error_code error) {
  for (auto& [gid, g] : groups_) {
    for (auto& [id, m] : g->members) {
      if (m.pending_join) {
        join_result r;
        r.error = error;
        r.member_id = id;
        std::exchange(m.pending_join, {})(std::move(r));
      }
      if (m.pending_sync) {
        sync_result r;
        r.error = error;
        std::exchange(m.pending_sync, {})(std::move(r));
      }
    }
  }
}

// ---- DescribeGroups, ListGroups -----------------------------------------------------------------

described_group group_manager::describe(const std::string& group_id) const {
  described_group out;
  out.group_id = group_id;
  const group* g = find(group_id);
  if (!g) return out;
  out.state = g->state;
  out.protocol_type = g->protocol_type;
  const bool stable = g->state == group_state::stable;
  if (stable) out.protocol_name = g->protocol_name;
  for (const auto& [id, m] : g->members) {
    described_member d;
    d.member_id = id;
    d.group_instance_id = m.instance_id;
    d.client_id = m.client_id;
    d.client_host = m.client_host;
    if (stable) {
      if (const bytes* metadata = m.metadata_for(g->protocol_name)) d.metadata = *metadata;
      d.assignment = m.assignment;
    }
    out.members.push_back(std::move(d));
  }
  return out;
}

std::vector<listed_group> group_manager::list() const {
  std::vector<listed_group> out;
  for (const auto& [id, g] : groups_) {
    if (g->state != group_state::dead) out.push_back({id, g->protocol_type, g->state});
  }
  return out;
}

std::optional<group_state> group_manager::state_of(const std::string& group_id) const {
  const group* g = find(group_id);
  if (!g) return std::nullopt;
  return g->state;
}

std::int32_t group_manager::generation_of(const std::string& group_id) const {
  const group* g = find(group_id);
  return g ? g->generation : -1;
}

std::size_t group_manager::groups_in(group_state state) const {
  return static_cast<std::size_t>(
      std::count_if(groups_.begin(), groups_.end(), [&](const auto& g) { return g.second->state == state; }));
}

std::size_t group_manager::group_count() const {
  return groups_.size();
}

// ---- offsets ----------------------------------------------------------------------------------

error_code group_manager::validate_commit(const commit_identity& who, std::int64_t now_ms) {
  // The offsets topic stores the id as an int16-length string (docs/formats/consumer-offsets.md).
  if (who.group_id.empty() || who.group_id.size() > 0x7fff) return error_code::invalid_group_id;
  group* g = find(who.group_id);
  const bool simple = who.generation_id < 0 && who.member_id.empty() && !who.group_instance_id;
  if (!g) {
    if (!simple) return error_code::unknown_member_id;
    create(who.group_id);
    return error_code::none;
  }
  if (g->state == group_state::dead) return error_code::coordinator_not_available;
  if (!simple) {
    if (g->fenced(who.group_instance_id, who.member_id)) return error_code::fenced_instance_id;
    auto it = g->members.find(who.member_id);
    if (it == g->members.end()) return error_code::unknown_member_id;
    if (who.generation_id != g->generation) return error_code::illegal_generation;
    it->second.last_heartbeat_ms = now_ms;  // a commit from a live member counts as a heartbeat
  } else if (g->state != group_state::empty) {
    return error_code::unknown_member_id;
  }
  if (g->state == group_state::completing_rebalance) return error_code::rebalance_in_progress;
  return error_code::none;
}

error_code group_manager::validate_partition(const std::optional<std::string>& metadata) const {
  if (metadata && metadata->size() > config_.metadata_bytes_max) return error_code::offset_metadata_too_large;
  return error_code::none;
}

void group_manager::store_offset(const std::string& group_id, const topic_partition& partition, committed_offset value,
                                 std::int64_t log_offset) {
  group& g = create(group_id);
  if (auto e = g.erased.find(partition); e != g.erased.end()) {
    if (e->second > log_offset) return;
    g.erased.erase(e);
  }
  auto& slot = g.offsets[partition];
  if (slot.log_offset > log_offset) return;
  slot.value = std::move(value);
  slot.log_offset = log_offset;
}

void group_manager::erase_offset(const std::string& group_id, const topic_partition& partition,
                                 std::int64_t log_offset) {
  group* g = find(group_id);
  if (!g) return;
  auto it = g->offsets.find(partition);
  if (it != g->offsets.end()) {
    if (it->second.log_offset > log_offset) return;
    g->offsets.erase(it);
  }
  auto& erased = g->erased[partition];
  erased = std::max(erased, log_offset);
}

std::optional<committed_offset> group_manager::offset(const std::string& group_id,
                                                      const topic_partition& partition) const {
  const group* g = find(group_id);
  if (!g) return std::nullopt;
  auto it = g->offsets.find(partition);
  if (it == g->offsets.end()) return std::nullopt;
  return it->second.value;
}

std::vector<std::pair<topic_partition, committed_offset>> group_manager::offsets(const std::string& group_id) const {
  std::vector<std::pair<topic_partition, committed_offset>> out;
  const group* g = find(group_id);
  if (!g) return out;
  for (const auto& [tp, stored] : g->offsets) out.emplace_back(tp, stored.value);
  return out;
}

std::vector<std::pair<std::string, std::int32_t>> group_manager::offsets_of_topic(std::string_view topic) const {
  std::vector<std::pair<std::string, std::int32_t>> out;
  for (const auto& [gid, g] : groups_) {
    for (const auto& [tp, stored] : g->offsets) {
      if (tp.first == topic) out.emplace_back(gid, tp.second);
    }
  }
  return out;
}

void group_manager::forget_empty_groups() {
  std::erase_if(groups_, [](const auto& entry) {
    const group& g = *entry.second;
    return g.state == group_state::empty && g.members.empty() && g.pending.empty() && g.offsets.empty();
  });
}

}  // namespace substrate::kafka::coordinator
