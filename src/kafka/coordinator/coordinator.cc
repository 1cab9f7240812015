#include "kafka/coordinator/coordinator.h"

#include <chrono>
#include <future>
#include <map>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/coordinator/offset_records.h"
#include "kafka/server/logger.h"
#include "net/io_pool.h"

namespace substrate::kafka::coordinator {
namespace {

namespace asio = boost::asio;

std::int16_t code(error_code e) {
  return static_cast<std::int16_t>(e);
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A parked answer: the state machine fills it (from a callback, on the coordinator shard) and
// the waiting handler resumes. Single-threaded: both sides run on the coordinator shard.
template <class T>
struct parked {
  explicit parked(const asio::any_io_executor& executor) : timer(executor) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  void set(T v) {
    value = std::move(v);
    timer.cancel();
  }
  asio::awaitable<T> wait() {
    while (!value) {
      boost::system::error_code ignored;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return std::move(*value);
  }
  asio::steady_timer timer;
  std::optional<T> value;
};

// FNV-1a: which offsets-topic partition a group's records go to.
std::int32_t partition_for(std::string_view group_id, std::int32_t partitions) {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : group_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return static_cast<std::int32_t>(h % static_cast<std::uint64_t>(partitions));
}

void log_failure(std::exception_ptr e, std::string_view what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    kafka_log.error("the group coordinator's {} failed: {}", what, ex.what());
  }
}

}  // namespace

struct group_coordinator::impl : std::enable_shared_from_this<impl> {
  impl(net::io_pool& p, offsets_log& l, coordinator_config c, core::metrics_registry& registry)
      : pool(p),
        log(l),
        config(std::move(c)),
        executor(p.shard(config.shard % p.shard_count()).get_executor()),
        manager(config.groups),
        deadline_timer(executor),
        groups_gauge(registry.add_gauge("kafka_groups", "Consumer groups by state.", {"state"})),
        rebalances(
            registry.add_counter("kafka_group_rebalances_total", "Consumer-group rebalances started.").labels({})),
        commits(
            registry.add_counter("kafka_offset_commits_total", "Partition offsets committed (durable).").labels({})) {}

  net::io_pool& pool;
  offsets_log& log;
  coordinator_config config;
  asio::io_context::executor_type executor;
  group_manager manager;
  asio::steady_timer deadline_timer;
  std::int64_t scheduled_ms = std::numeric_limits<std::int64_t>::max();
  core::metric_family<core::gauge>& groups_gauge;
  core::counter& rebalances;
  core::counter& commits;
  std::uint64_t rebalances_published = 0;
  bool loaded = false;
  bool stopping = false;
  std::int32_t offsets_partitions = 0;  // 0 until the offsets topic exists

  // ---- after every event: deadlines and metrics ---------------------------------------------

  void after_event() {
    // Groups that ended Empty without committed offsets are gone (Kafka: at its next cleanup).
    manager.forget_empty_groups();
    const auto next = manager.next_deadline_ms();
    if (next && *next < scheduled_ms) deadline_timer.cancel();
    for (group_state s : all_group_states) {
      groups_gauge.labels({std::string(to_string(s))}).set(static_cast<double>(manager.groups_in(s)));
    }
    const auto total = manager.rebalances_total();
    rebalances.increment(total - rebalances_published);
    rebalances_published = total;
  }

  asio::awaitable<void> deadline_loop() {
    while (!stopping) {
      const auto next = manager.next_deadline_ms();
      scheduled_ms = next.value_or(std::numeric_limits<std::int64_t>::max());
      if (next) {
        deadline_timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, *next - steady_ms())));
      } else {
        deadline_timer.expires_at(asio::steady_timer::time_point::max());
      }
      boost::system::error_code ignored;
      co_await deadline_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (stopping) break;
      manager.tick(steady_ms());
      after_event();
    }
  }

  // ---- start-up: replay the offsets topic ----------------------------------------------------

  asio::awaitable<void> load() {
    const auto started = steady_ms();
    auto [opened, partitions] = co_await log.open_offsets_topic(config.offsets_topic_partitions, false);
    if (opened != error_code::none) {
      kafka_log.error("cannot open the offsets topic; committed offsets are not loaded",
                      {{"topic", offsets_topic}, {"error", to_string(opened)}});
    }
    offsets_partitions = partitions;
    replay_stats stats;
    std::size_t applied = 0;
    for (std::int32_t p = 0; p < partitions; ++p) {
      std::int64_t offset = 0;
      for (;;) {
        auto chunk = co_await log.read(p, offset);
        if (chunk.error != error_code::none) {
          kafka_log.error("cannot read the offsets topic; the rest of this partition is not loaded",
                          {{"partition", p}, {"offset", offset}, {"error", to_string(chunk.error)}});
          break;
        }
        if (chunk.data.empty()) break;
        replay_stats batch_stats;
        auto records = decode_offset_batches(std::as_bytes(std::span(chunk.data)), batch_stats);
        if (!records) {
          kafka_log.error("unreadable batch in the offsets topic; the rest of this partition is not loaded",
                          {{"partition", p}, {"offset", offset}, {"reason", records.error().message()}});
          break;
        }
        stats.records += batch_stats.records;
        stats.skipped += batch_stats.skipped;
        for (auto& r : *records) {
          if (r.log_offset < offset) continue;  // the read may start inside an earlier batch
          apply(r.record, r.log_offset);
          ++applied;
        }
        if (batch_stats.next_offset <= offset) break;
        offset = batch_stats.next_offset;
      }
    }
    // Offsets of topics deleted before their tombstones were written are dropped here.
    std::size_t dropped = 0;
    for (const auto& g : manager.list()) {
      for (const auto& [tp, value] : manager.offsets(g.group_id)) {
        if (!log.partitions_of(tp.first)) {
          manager.erase_offset(g.group_id, tp, std::numeric_limits<std::int64_t>::max());
          ++dropped;
        }
      }
    }
    manager.forget_empty_groups();
    loaded = true;
    after_event();
    kafka_log.info("group coordinator loaded", {{"groups", manager.group_count()},
                                                {"records", stats.records},
                                                {"applied", applied},
                                                {"skipped", stats.skipped},
                                                {"dropped_for_deleted_topics", dropped},
                                                {"ms", steady_ms() - started}});
  }

  void apply(const offset_record& r, std::int64_t log_offset) {
    if (r.value) {
      manager.store_offset(r.key.group_id, r.key.partition, *r.value, log_offset);
    } else {
      manager.erase_offset(r.key.group_id, r.key.partition, log_offset);
    }
  }

  // Writes records of one group durably, then applies them. The error of the write, if any.
  asio::awaitable<error_code> persist(const std::string& group_id, std::vector<offset_record> records) {
    if (offsets_partitions == 0) {
      auto [opened, partitions] = co_await log.open_offsets_topic(config.offsets_topic_partitions, true);
      if (opened != error_code::none || partitions <= 0) {
        kafka_log.error("cannot create the offsets topic", {{"error", to_string(opened)}});
        co_return error_code::coordinator_not_available;
      }
      offsets_partitions = partitions;
    }
    const std::int32_t partition = partition_for(group_id, offsets_partitions);
    auto [appended, base_offset] = co_await log.append(partition, build_offset_batch(records, wall_clock_ms()));
    if (appended != error_code::none) {
      kafka_log.error("cannot write to the offsets topic",
                      {{"group", group_id}, {"partition", partition}, {"error", to_string(appended)}});
      // Retriable for the client: it commits again.
      co_return error_code::coordinator_not_available;
    }
    for (std::size_t i = 0; i < records.size(); ++i) apply(records[i], base_offset + static_cast<std::int64_t>(i));
    co_return error_code::none;
  }

  // ---- handlers (on the coordinator shard) -----------------------------------------------------

  message find_coordinator(const request_header& header, const message& request) {
    message response = make_message(api_key::find_coordinator, message_kind::response);
    if (header.api_version >= 1 && request.i8("key_type") != 0) {
      // Transactions (key type 1) are not supported: no transaction coordinator exists.
      response.i16("error_code") = code(error_code::coordinator_not_available);
      response.nullable_str("error_message") = "transactions are not supported";
      response.i32("node_id") = -1;
      response.i32("port") = -1;
      return response;
    }
    const node_address node = config.node ? config.node() : node_address{};
    response.i32("node_id") = node.node_id;
    response.str("host") = node.host;
    response.i32("port") = node.port;
    response.nullable_str("error_message") = std::nullopt;
    return response;
  }

  asio::awaitable<message> join_group(const request_header& header, message& request,
                                      const connection_context& context) {
    message response = make_message(api_key::join_group, message_kind::response);
    join_request r;
    r.group_id = request.str("group_id");
    r.member_id = request.str("member_id");
    r.group_instance_id = request.nullable_str("group_instance_id");
    r.client_id = context.client_id.value_or("");
    r.client_host = "/" + context.remote_address;
    r.session_timeout_ms = request.i32("session_timeout_ms");
    r.rebalance_timeout_ms = header.api_version >= 1 ? request.i32("rebalance_timeout_ms") : -1;
    r.protocol_type = request.str("protocol_type");
    for (auto& p : request.array("protocols")) r.protocols.push_back({p.str("name"), std::move(p.blob("metadata"))});
    r.require_known_member_id = header.api_version >= 4;
    auto slot = std::make_shared<parked<join_result>>(executor);
    manager.join(std::move(r), steady_ms(), [slot](join_result result) { slot->set(std::move(result)); });
    after_event();
    join_result result = co_await slot->wait();
    response.i16("error_code") = code(result.error);
    response.i32("generation_id") = result.generation_id;
    response.str("protocol_name") = result.protocol_name;
    response.str("leader") = result.leader;
    response.str("member_id") = result.member_id;
    for (auto& m : result.members) {
      auto& out = response.append("members");
      out.str("member_id") = m.member_id;
      out.nullable_str("group_instance_id") = m.group_instance_id;
      out.blob("metadata") = std::move(m.metadata);
    }
    co_return response;
  }

  asio::awaitable<message> sync_group(message& request) {
    message response = make_message(api_key::sync_group, message_kind::response);
    sync_request r;
    r.group_id = request.str("group_id");
    r.generation_id = request.i32("generation_id");
    r.member_id = request.str("member_id");
    r.group_instance_id = request.nullable_str("group_instance_id");
    for (auto& a : request.array("assignments")) {
      r.assignments.emplace_back(a.str("member_id"), std::move(a.blob("assignment")));
    }
    auto slot = std::make_shared<parked<sync_result>>(executor);
    manager.sync(std::move(r), steady_ms(), [slot](sync_result result) { slot->set(std::move(result)); });
    after_event();
    sync_result result = co_await slot->wait();
    response.i16("error_code") = code(result.error);
    if (result.error == error_code::none) {
      response.nullable_str("protocol_type") = result.protocol_type;
      response.nullable_str("protocol_name") = result.protocol_name;
    }
    response.blob("assignment") = std::move(result.assignment);
    co_return response;
  }

  message heartbeat(const message& request) {
    message response = make_message(api_key::heartbeat, message_kind::response);
    heartbeat_request r{request.str("group_id"), request.i32("generation_id"), request.str("member_id"),
                        request.nullable_str("group_instance_id")};
    response.i16("error_code") = code(manager.heartbeat(r, steady_ms()));
    after_event();
    return response;
  }

  message leave_group(const request_header& header, const message& request) {
    message response = make_message(api_key::leave_group, message_kind::response);
    std::vector<member_identity> members;
    if (header.api_version >= 3) {
      for (const auto& m : request.array("members")) {
        members.push_back({m.str("member_id"), m.nullable_str("group_instance_id")});
      }
    } else {
      members.push_back({request.str("member_id"), std::nullopt});
    }
    const auto errors = manager.leave(request.str("group_id"), members, steady_ms());
    after_event();
    if (header.api_version < 3) {
      response.i16("error_code") = code(errors.at(0));
      return response;
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      auto& out = response.append("members");
      out.str("member_id") = members[i].member_id;
      out.nullable_str("group_instance_id") = members[i].group_instance_id;
      out.i16("error_code") = code(errors[i]);
    }
    return response;
  }

  message describe_groups(const message& request) {
    message response = make_message(api_key::describe_groups, message_kind::response);
    for (const auto& v : request.values("groups")) {
      const auto& id = std::get<std::string>(v);
      auto& out = response.append("groups");
      out.str("group_id") = id;
      if (!loaded) {
        out.i16("error_code") = code(error_code::coordinator_load_in_progress);
        continue;
      }
      if (id.empty()) {
        out.i16("error_code") = code(error_code::invalid_group_id);
        continue;
      }
      auto described = manager.describe(id);
      out.str("group_state") = std::string(to_string(described.state));
      out.str("protocol_type") = described.protocol_type;
      out.str("protocol_data") = described.protocol_name;
      for (auto& m : described.members) {
        auto& member = out.append("members");
        member.str("member_id") = m.member_id;
        member.nullable_str("group_instance_id") = m.group_instance_id;
        member.str("client_id") = m.client_id;
        member.str("client_host") = m.client_host;
        member.blob("member_metadata") = std::move(m.metadata);
        member.blob("member_assignment") = std::move(m.assignment);
      }
    }
    return response;
  }

  message list_groups() {
    message response = make_message(api_key::list_groups, message_kind::response);
    if (!loaded) {
      response.i16("error_code") = code(error_code::coordinator_load_in_progress);
      return response;
    }
    for (const auto& g : manager.list()) {
      auto& out = response.append("groups");
      out.str("group_id") = g.group_id;
      out.str("protocol_type") = g.protocol_type;
      out.str("group_state") = std::string(to_string(g.state));
    }
    return response;
  }

  asio::awaitable<message> offset_commit(const request_header& header, message& request) {
    message response = make_message(api_key::offset_commit, message_kind::response);
    const std::string group_id = request.str("group_id");
    error_code group_error = error_code::coordinator_load_in_progress;
    if (loaded) {
      commit_identity who{group_id, header.api_version >= 1 ? request.i32("generation_id_or_member_epoch") : -1,
                          header.api_version >= 1 ? request.str("member_id") : std::string(),
                          request.nullable_str("group_instance_id")};
      group_error = manager.validate_commit(who, steady_ms());
      after_event();
    }
    const std::int64_t now = wall_clock_ms();
    std::vector<offset_record> records;
    std::vector<message*> written;  // the response partitions of `records`, same order
    for (auto& t : request.array("topics")) {
      auto& rt = response.append("topics");
      rt.str("name") = t.str("name");
      const auto partitions = log.partitions_of(t.str("name"));
      for (auto& p : t.array("partitions")) {
        auto& rp = rt.append("partitions");
        const std::int32_t index = p.i32("partition_index");
        rp.i32("partition_index") = index;
        error_code e = group_error;
        if (e == error_code::none) e = manager.validate_partition(p.nullable_str("committed_metadata"));
        if (e == error_code::none && (!partitions || index < 0 || index >= *partitions)) {
          e = error_code::unknown_topic_or_partition;
        }
        rp.i16("error_code") = code(e);
        if (e != error_code::none) continue;
        committed_offset value;
        value.offset = p.i64("committed_offset");
        value.leader_epoch = header.api_version >= 6 ? p.i32("committed_leader_epoch") : -1;
        value.metadata = p.nullable_str("committed_metadata").value_or("");
        value.commit_timestamp_ms = now;
        records.push_back({{group_id, {t.str("name"), index}}, std::move(value)});
      }
    }
    // Pointers into the response are taken after it stopped growing.
    for (auto& rt : response.array("topics")) {
      for (auto& rp : rt.array("partitions")) {
        if (rp.i16("error_code") == 0) written.push_back(&rp);
      }
    }
    if (!records.empty()) {
      const std::size_t count = records.size();
      const error_code persisted = co_await persist(group_id, std::move(records));
      if (persisted != error_code::none) {
        for (message* rp : written) rp->i16("error_code") = code(persisted);
      } else {
        commits.increment(count);
      }
    }
    co_return response;
  }

  message offset_fetch(const request_header& header, const message& request) {
    message response = make_message(api_key::offset_fetch, message_kind::response);
    const std::string& group_id = request.str("group_id");
    error_code top = loaded ? error_code::none : error_code::coordinator_load_in_progress;
    if (top == error_code::none && manager.state_of(group_id) == group_state::dead)
      top = error_code::group_id_not_found;
    if (header.api_version >= 2) response.i16("error_code") = code(top);
    auto fill = [&](message& rp, std::int32_t index, const std::optional<committed_offset>& value) {
      rp.i32("partition_index") = index;
      rp.i64("committed_offset") = value ? value->offset : -1;
      rp.i32("committed_leader_epoch") = value ? value->leader_epoch : -1;
      rp.nullable_str("metadata") = value ? value->metadata : std::string();
      rp.i16("error_code") = code(top);
    };
    if (header.api_version >= 2 && request.is_null("topics")) {
      if (top != error_code::none) return response;
      message* current = nullptr;
      for (const auto& [tp, value] : manager.offsets(group_id)) {
        if (!current || current->str("name") != tp.first) {
          current = &response.append("topics");
          current->str("name") = tp.first;
        }
        fill(current->append("partitions"), tp.second, value);
      }
      return response;
    }
    for (const auto& t : request.array("topics")) {
      auto& rt = response.append("topics");
      rt.str("name") = t.str("name");
      for (const auto& v : t.values("partition_indexes")) {
        const auto index = std::get<std::int32_t>(v);
        std::optional<committed_offset> value;
        if (top == error_code::none) value = manager.offset(group_id, {t.str("name"), index});
        fill(rt.append("partitions"), index, value);
      }
    }
    return response;
  }

  // Answers without touching any group: while stopping (or not yet loaded, for the APIs that
  // need the groups), every group API gets the same retriable error.
  static message refuse(const request_header& header, const message& request, error_code e) {
    message response = make_message(header.key, message_kind::response);
    if (response.find("error_code")) response.i16("error_code") = code(e);
    if (header.key == api_key::offset_fetch || header.key == api_key::offset_commit) {
      if (!request.is_null("topics")) {
        for (const auto& t : request.array("topics")) {
          auto& rt = response.append("topics");
          rt.str("name") = t.str("name");
          if (header.key == api_key::offset_commit) {
            for (const auto& p : t.array("partitions")) {
              auto& rp = rt.append("partitions");
              rp.i32("partition_index") = p.i32("partition_index");
              rp.i16("error_code") = code(e);
            }
          } else {
            for (const auto& p : t.values("partition_indexes")) {
              auto& rp = rt.append("partitions");
              rp.i32("partition_index") = std::get<std::int32_t>(p);
              rp.i64("committed_offset") = -1;
              rp.i16("error_code") = code(e);
            }
          }
        }
      }
    }
    if (header.key == api_key::leave_group && header.api_version >= 3) {
      for (const auto& m : request.array("members")) {
        auto& out = response.append("members");
        out.str("member_id") = m.str("member_id");
        out.nullable_str("group_instance_id") = m.nullable_str("group_instance_id");
        out.i16("error_code") = code(e);
      }
    }
    if (header.key == api_key::describe_groups) {
      for (const auto& v : request.values("groups")) {
        auto& out = response.append("groups");
        out.str("group_id") = std::get<std::string>(v);
        out.i16("error_code") = code(e);
      }
    }
    return response;
  }

  // std::optional only because co_spawn needs a default-constructible result.
  asio::awaitable<std::optional<message>> on_shard(request_header header, message& request,
                                                   connection_context context) {
    if (stopping) co_return refuse(header, request, error_code::coordinator_not_available);
    switch (header.key) {
      case api_key::find_coordinator:
        co_return find_coordinator(header, request);
      case api_key::describe_groups:
        co_return describe_groups(request);
      case api_key::list_groups:
        co_return list_groups();
      case api_key::offset_commit:
        co_return co_await offset_commit(header, request);
      case api_key::offset_fetch:
        co_return offset_fetch(header, request);
      default:
        break;
    }
    if (!loaded) co_return refuse(header, request, error_code::coordinator_load_in_progress);
    switch (header.key) {
      case api_key::join_group:
        co_return co_await join_group(header, request, context);
      case api_key::sync_group:
        co_return co_await sync_group(request);
      case api_key::heartbeat:
        co_return heartbeat(request);
      case api_key::leave_group:
        co_return leave_group(header, request);
      default:
        co_return refuse(header, request, error_code::unknown_server_error);
    }
  }

  asio::awaitable<void> drop_topic(std::string topic) {
    if (!loaded || stopping) co_return;  // the replay drops offsets of missing topics
    std::map<std::string, std::vector<offset_record>> by_group;
    for (auto& [group_id, index] : manager.offsets_of_topic(topic)) {
      by_group[group_id].push_back({{group_id, {topic, index}}, std::nullopt});
    }
    std::size_t dropped = 0;
    for (auto& [group_id, records] : by_group) {
      dropped += records.size();
      if (auto e = co_await persist(group_id, std::move(records)); e != error_code::none) {
        kafka_log.warn("cannot drop the committed offsets of a deleted topic; they are dropped at the next start",
                       {{"topic", topic}, {"group", group_id}});
      }
    }
    manager.forget_empty_groups();
    after_event();
    if (dropped > 0)
      kafka_log.info("dropped committed offsets of a deleted topic", {{"topic", topic}, {"offsets", dropped}});
  }
};

group_coordinator::group_coordinator(net::io_pool& pool, offsets_log& log, coordinator_config config,
                                     core::metrics_registry& metrics)
    : impl_(std::make_shared<impl>(pool, log, std::move(config), metrics)) {
  if (impl_->config.offsets_topic_partitions < 1) throw std::runtime_error("offsets_topic_partitions must be >= 1");
  if (impl_->config.groups.initial_rebalance_delay_ms < 0) {
    throw std::runtime_error("group initial rebalance delay must not be negative");
  }
}

group_coordinator::~group_coordinator() = default;

bool group_coordinator::handles(api_key key) {
  switch (key) {
    case api_key::find_coordinator:
    case api_key::join_group:
    case api_key::sync_group:
    case api_key::heartbeat:
    case api_key::leave_group:
    case api_key::describe_groups:
    case api_key::list_groups:
    case api_key::offset_commit:
    case api_key::offset_fetch:
      return true;
    default:
      return false;
  }
}

void group_coordinator::start() {
  auto self = impl_;
  asio::co_spawn(self->executor, self->load(), [](std::exception_ptr e) { log_failure(e, "offsets replay"); });
  asio::co_spawn(self->executor, self->deadline_loop(), [](std::exception_ptr e) { log_failure(e, "deadline timer"); });
}

void group_coordinator::stop() {
  auto self = impl_;
  std::promise<void> done;
  asio::post(self->executor, [self, &done] {
    if (!self->stopping) {
      self->stopping = true;
      self->manager.abort_parked(error_code::not_coordinator);
      self->deadline_timer.cancel();
    }
    done.set_value();
  });
  done.get_future().wait();
}

boost::asio::awaitable<message> group_coordinator::handle(const request_header& header, message& request,
                                                          const connection_context& context) {
  auto self = impl_;
  auto response =
      co_await asio::co_spawn(self->executor, self->on_shard(header, request, context), asio::use_awaitable);
  co_return std::move(*response);
}

message group_coordinator::error_response(const request_header& header, const message& request, error_code error) {
  return impl::refuse(header, request, error);
}

boost::asio::awaitable<void> group_coordinator::topic_deleted(std::string topic) {
  auto self = impl_;
  co_await asio::co_spawn(self->executor, self->drop_topic(std::move(topic)), asio::use_awaitable);
}

}  // namespace substrate::kafka::coordinator
