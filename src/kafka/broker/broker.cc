#include "kafka/broker/broker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <unordered_set>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/assert.h"
#include "kafka/broker/errors.h"
#include "kafka/broker/group_acls.h"
#include "kafka/broker/producer_state.h"
#include "kafka/broker/topic_config.h"
#include "kafka/coordinator/coordinator.h"
#include "kafka/coordinator/offset_records.h"
#include "kafka/server/logger.h"
#include "log/record_batch.h"
#include "net/io_pool.h"

namespace substrate::kafka {
namespace {

namespace asio = boost::asio;

// Wall-clock milliseconds: the log stamps segment ages and retention with it.
// TODO(broker): take a runtime clock so tests can drive time (#3).
std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int16_t code(error_code e) {
  return static_cast<std::int16_t>(e);
}

using topic_table = std::map<std::string, topic_metadata, std::less<>>;
using partition_key = std::pair<std::string, std::int32_t>;

// A parked Fetch: woken (from any thread) by an append to one of its partitions, or by stop().
// The timer lives on the fetching connection's shard; notify() posts the wake-up there.
struct fetch_waiter : std::enable_shared_from_this<fetch_waiter> {
  explicit fetch_waiter(const asio::any_io_executor& executor) : timer(executor) {}
  void notify() {
    if (fired.exchange(true)) return;
    asio::post(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
  }
  asio::steady_timer timer;
  std::atomic<bool> fired{false};
};

// An acks=all produce waiting on the owner shard for the sync that covers `target`.
struct durability_waiter {
  explicit durability_waiter(const asio::any_io_executor& executor, std::int64_t t) : timer(executor), target(t) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  void wake(error_code e) {
    result = e;
    timer.cancel();
  }
  asio::steady_timer timer;
  std::int64_t target;
  error_code result = error_code::none;
};

// One partition and what the broker keeps beside it. Owned by its shard's map; coroutines on
// the owner hold a shared_ptr across suspension points and check `removed` when they resume.
// How often a group commit also fdatasyncs the active segment's index files (see
// log::partition::sync_scope): at most this much index tail is rescanned after a crash.
constexpr std::chrono::milliseconds index_sync_interval{1000};

struct partition_state {
  std::unique_ptr<log::partition> log;
  producer_state_table producers;
  bool removed = false;
  int sync_loops = 0;                                         // sync loops scheduled or running (syncs_in_flight_max)
  bool sync_wanted = false;                                   // appends arrived that the running sync does not cover
  std::chrono::steady_clock::time_point indexes_synced_at{};  // the active segment's index files, last
  bool compacting = false;                                    // a compaction job is planned or running (at most one)
  std::shared_ptr<std::atomic<bool>> compaction_cancel;       // the running job's, to stop it early
  std::vector<std::shared_ptr<durability_waiter>> durability_waiters;
  std::vector<std::weak_ptr<fetch_waiter>> fetch_waiters;

  void wake_fetchers() {
    for (auto& weak : fetch_waiters) {
      if (auto w = weak.lock()) w->notify();
    }
    fetch_waiters.clear();
  }
};

// The partitions of one shard; touched only on that shard's thread (and by the constructor
// before any request can arrive).
struct shard_state {
  std::map<partition_key, std::shared_ptr<partition_state>> partitions;
  asio::steady_timer* retention_timer = nullptr;  // the retention loop's, while it waits
  std::shared_ptr<partition_state> find(const std::string& topic, std::int32_t index) const {
    auto it = partitions.find(partition_key(topic, index));
    return it == partitions.end() ? nullptr : it->second;
  }
};

struct append_outcome {
  error_code error = error_code::none;
  std::int64_t base_offset = -1;
  std::int64_t log_start_offset = -1;
  std::int64_t durable_target = -1;  // >= 0: acks=all must wait until durable_offset() reaches it
};

struct read_outcome {
  error_code error = error_code::none;
  std::int64_t high_watermark = -1;
  std::int64_t log_start_offset = -1;
  bytes data;
};

struct list_outcome {
  error_code error = error_code::none;
  std::int64_t timestamp = -1;
  std::int64_t offset = -1;
};

// Whole batches of `data` that fit in `limit` bytes; the first one always when `at_least_one`.
std::size_t whole_batches_within(std::span<const std::byte> data, std::size_t limit, bool at_least_one) {
  std::size_t position = 0;
  while (position < data.size()) {
    auto header = log::parse_batch_header(data.subspan(position));
    if (!header) break;
    const std::size_t size = header->size_bytes();
    if (position + size > data.size()) break;
    if (position + size > limit && !(position == 0 && at_least_one)) break;
    position += size;
  }
  return position;
}

// The produce path's latencies are milliseconds: the default buckets (0.5, 1, 2.5, 5 ms, ...)
// are too coarse to tell a 2 ms p99 from a 4 ms one, so these add steps below 10 ms (and keep
// every default bound, so the series stay comparable).
std::vector<double> fine_latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005,
          0.0075, 0.01,    0.025,  0.05,    0.1,   0.25,   0.5,   1,      2.5,   5,     10};
}

std::size_t hash_partition(std::string_view topic, std::int32_t index) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (char c : topic) mix(static_cast<unsigned char>(c));
  for (int i = 0; i < 4; ++i) mix(static_cast<unsigned char>(static_cast<std::uint32_t>(index) >> (8 * i)));
  return static_cast<std::size_t>(h);
}

}  // namespace

struct broker::impl {
  impl(net::io_pool& p, broker_config c, core::metrics_registry& registry)
      : pool(p),
        config(std::move(c)),
        advertised_port(config.advertised_port),
        shards(p.shard_count()),
        produced_bytes(
            registry.add_counter("kafka_produced_bytes_total", "Bytes of record batches appended.").labels({})),
        produced_batches(registry.add_counter("kafka_produced_batches_total", "Record batches appended.").labels({})),
        fetched_bytes(
            registry.add_counter("kafka_fetched_bytes_total", "Bytes of record batches served by Fetch.").labels({})),
        syncs(registry.add_counter("kafka_partition_syncs_total", "Partition syncs (fdatasync) completed.").labels({})),
        sync_failures(
            registry.add_counter("kafka_partition_sync_failures_total", "Partition syncs that failed.").labels({})),
        compactions(
            registry.add_counter("kafka_compactions_total", "Compactions of compact-policy partitions completed.")
                .labels({})),
        compacted_records(registry
                              .add_counter("kafka_compaction_removed_records_total",
                                           "Records removed by compaction (superseded values, expired tombstones).")
                              .labels({})),
        sync_latency(registry
                         .add_histogram("kafka_partition_sync_latency_seconds",
                                        "Time from starting a partition sync to its completion.",
                                        fine_latency_buckets_seconds())
                         .labels({})),
        produce_latency(registry
                            .add_histogram("kafka_produce_latency_seconds",
                                           "Time from a Produce request reaching its handler to its response "
                                           "(with acks=all, including the wait for the covering sync).",
                                           fine_latency_buckets_seconds())
                            .labels({})),
        table(std::make_shared<const topic_table>()) {}

  net::io_pool& pool;
  broker_config config;
  std::atomic<std::uint16_t> advertised_port;
  std::vector<shard_state> shards;
  core::counter& produced_bytes;
  core::counter& produced_batches;
  core::counter& fetched_bytes;
  core::counter& syncs;
  core::counter& sync_failures;
  core::counter& compactions;
  core::counter& compacted_records;
  core::histogram& sync_latency;
  core::histogram& produce_latency;
  std::atomic<bool> stopping{false};

  // The published topic table. Readers copy the pointer under the mutex, then read lock-free.
  mutable std::mutex table_mutex;
  std::shared_ptr<const topic_table> table;
  // Serialises topic creation/deletion and producer-id allocation; held on blocking threads only.
  std::mutex admin_mutex;
  std::int64_t next_producer_id = 0;
  // The group coordinator (src/kafka/coordinator) and its view of our log.
  std::unique_ptr<coordinator::offsets_log> offsets_access;
  std::unique_ptr<coordinator::group_coordinator> groups;

  std::shared_ptr<const topic_table> snapshot() const {
    std::lock_guard lock(table_mutex);
    return table;
  }
  void publish(std::shared_ptr<const topic_table> next) {
    std::lock_guard lock(table_mutex);
    table = std::move(next);
  }

  std::size_t owner_of(std::string_view topic, std::int32_t index) const {
    return hash_partition(topic, index) % shards.size();
  }
  asio::io_context::executor_type owner_executor(std::string_view topic, std::int32_t index) {
    return pool.shard(owner_of(topic, index)).get_executor();
  }

  // Runs `fn(shard_state&)` on every shard in `which` and blocks until all ran. Blocking
  // threads and start-up/shutdown code only, never a shard.
  template <class Fn>
  void on_shards_blocking(const std::vector<std::size_t>& which, Fn fn) {
    std::vector<std::future<void>> done;
    for (std::size_t s : which) {
      auto promise = std::make_shared<std::promise<void>>();
      done.push_back(promise->get_future());
      asio::post(pool.shard(s), [this, s, fn, promise] {
        fn(shards[s], s);
        promise->set_value();
      });
    }
    for (auto& f : done) f.wait();
  }

  // ---- start-up ------------------------------------------------------------------------------

  void recover() {
    if (config.syncs_in_flight_max < 1) {
      throw std::runtime_error(
          fmt::format("broker: syncs_in_flight_max must be at least 1, not {}", config.syncs_in_flight_max));
    }
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", config.data_dir.string(), ec.message()));
    auto next_id = read_next_producer_id(config.data_dir);
    if (!next_id) throw std::runtime_error(next_id.error().message());
    next_producer_id = *next_id;
    auto loaded = std::make_shared<topic_table>();
    std::size_t partitions = 0;
    std::size_t producers = 0;
    for (const auto& file : find_topic_metadata_files(config.data_dir)) {
      auto topic = read_topic_metadata(file, config.default_topic);
      if (!topic) throw std::runtime_error(topic.error().message());
      for (std::int32_t i = 0; i < topic->partitions; ++i) {
        auto opened =
            log::partition::open(partition_directory(config.data_dir, topic->name, i), topic->config, wall_clock_ms());
        if (!opened) {
          throw std::runtime_error(
              fmt::format("cannot open partition {}-{}: {}", topic->name, i, opened.error().message()));
        }
        auto state = std::make_shared<partition_state>();
        state->log = std::move(*opened);
        if (auto r = rebuild_producer_state(*state); !r) {
          // Reads report the damage where it is; idempotence falls back to rule 1 for the rest.
          kafka_log.warn("cannot rebuild the idempotent producer state from the whole log tail",
                         {{"topic", topic->name}, {"partition", i}, {"reason", r.error().message()}});
        }
        producers += state->producers.size();
        shards[owner_of(topic->name, i)].partitions[partition_key(topic->name, i)] = std::move(state);
        ++partitions;
      }
      loaded->emplace(topic->name, std::move(*topic));
    }
    table = std::move(loaded);
    kafka_log.info("broker started", {{"data_dir", config.data_dir.string()},
                                      {"topics", table->size()},
                                      {"partitions", partitions},
                                      {"idempotent_producers", producers},
                                      {"next_producer_id", next_producer_id},
                                      {"node_id", config.node_id}});
  }

  // The idempotent producers' state (spec kafka-compat.md 3.6) is in memory only: replaying the
  // headers of the log's tail (every batch carries producer id, epoch, base sequence and
  // lastOffsetDelta) gives each recent producer its epoch, last sequence and last five batches
  // again, so that a retry after a restart is still answered as a duplicate.
  result<void> rebuild_producer_state(partition_state& state) const {
    return state.log->visit_tail(config.producer_state_scan_bytes, [&](std::span<const std::byte>,
                                                                       const log::batch_header& h, std::uint64_t) {
      if (h.producer_id >= 0 && !h.is_control() && h.base_sequence >= 0) {
        state.producers.record({h.producer_id, h.producer_epoch, h.base_sequence, h.last_offset_delta}, h.base_offset);
      }
      return true;
    });
  }

  // Starts one retention loop per shard (queued until the io_pool runs).
  void start_retention() {
    if (config.retention_check_interval_ms <= 0) return;
    for (std::size_t s = 0; s < shards.size(); ++s) {
      asio::co_spawn(pool.shard(s), retention_loop(s), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          kafka_log.error("the retention loop failed: {}", ex.what());
        }
      });
    }
  }

  // Every retention_check_interval_ms, for every partition of this shard: deletes the segments
  // that retention.ms / retention.bytes no longer keep (delete policy; quick file deletions),
  // or starts a compaction when one is due (compact policy; see compaction_task).
  asio::awaitable<void> retention_loop(std::size_t s) {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    shard_state& shard = shards[s];
    shard.retention_timer = &timer;
    while (!stopping) {
      timer.expires_after(std::chrono::milliseconds(config.retention_check_interval_ms));
      boost::system::error_code ignored;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (stopping) break;
      const auto now = wall_clock_ms();
      for (const auto& [key, state] : shard.partitions) {
        if (state->removed) continue;
        if (state->log->config().cleanup == log::cleanup_policy::compact) {
          if (!state->compacting && state->log->compaction_due(now)) start_compaction(state, key);
          continue;
        }
        auto done = state->log->enforce_retention(now);
        if (!done) {
          kafka_log.warn("retention failed; retrying at the next check",
                         {{"topic", key.first}, {"partition", key.second}, {"reason", done.error().message()}});
        } else if (done->segments_deleted > 0) {
          kafka_log.info("retention deleted segments", {{"topic", key.first},
                                                        {"partition", key.second},
                                                        {"segments", done->segments_deleted},
                                                        {"bytes", done->bytes_deleted},
                                                        {"log_start_offset", state->log->log_start_offset()}});
        }
      }
    }
    shard.retention_timer = nullptr;
  }

  void start_compaction(const std::shared_ptr<partition_state>& state, const partition_key& key) {
    state->compacting = true;
    asio::co_spawn(pool.shard(owner_of(key.first, key.second)), compaction_task(state, key), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        kafka_log.error("a compaction task failed: {}", ex.what());
      }
    });
  }

  // One compaction on the owner shard: plan here, run on the blocking pool (the long part),
  // swap back here (renames only; fetches on this shard see either the old or the new
  // segments, never a mix), finish on the blocking pool. The log's `ready` marker makes a crash
  // anywhere roll the compaction back or forward at the next start (docs/formats/log.md).
  asio::awaitable<void> compaction_task(std::shared_ptr<partition_state> state, partition_key key) {
    auto complain = [&](bool error, std::string_view message, const std::string& reason) {
      if (error) {
        kafka_log.error(message, {{"topic", key.first}, {"partition", key.second}, {"reason", reason}});
      } else {
        kafka_log.warn(message, {{"topic", key.first}, {"partition", key.second}, {"reason", reason}});
      }
    };
    auto planned = state->log->plan_compaction(wall_clock_ms());
    if (!planned || !*planned) {
      if (!planned) complain(false, "cannot plan a compaction; retrying later", planned.error().message());
      state->compacting = false;
      co_return;
    }
    auto job = std::make_shared<log::compaction_job>(std::move(**planned));
    state->compaction_cancel = job->cancelled;
    auto run = [job] { return job->run(); };
    auto ran = co_await net::run_blocking(pool.blocking(), std::move(run));
    state->compaction_cancel.reset();
    if (state->removed) co_return;  // the directory is gone or going; nothing to swap into
    auto swapped = state->log->swap_compaction(*job);
    if (!swapped && job->committed()) {
      // Part of the swap may be done: leave the partition alone until a restart finishes it.
      complain(true, "a compaction swap failed; compaction stays off for this partition until a restart",
               swapped.error().message());
      co_return;
    }
    auto finish = [job] { return job->finish(); };
    auto finished = co_await net::run_blocking(pool.blocking(), std::move(finish));
    if (!ran || !swapped) {
      complain(false, "compaction failed; retrying at a later check",
               ran ? swapped.error().message() : ran.error().message());
    } else if (!finished) {
      complain(false, "cannot remove the compaction staging directory; the next start does",
               finished.error().message());
    }
    if (ran && swapped) {
      compactions.increment();
      compacted_records.increment(swapped->records_removed);
    }
    state->compacting = false;
  }

  // ---- topic administration (blocking pool) --------------------------------------------------

  // Creates a topic: opens its partitions, writes the metadata file (the commit point), hands
  // the partitions to their owners, publishes the table.
  error_code create_topic_blocking(topic_metadata topic) {
    std::lock_guard lock(admin_mutex);
    if (snapshot()->contains(topic.name)) return error_code::topic_already_exists;
    // A deletion interrupted by a crash may have left directories behind: never reuse them.
    std::error_code ec;
    for (std::int32_t i = 0;; ++i) {
      const auto dir = partition_directory(config.data_dir, topic.name, i);
      if (!std::filesystem::exists(dir, ec)) {
        if (i >= topic.partitions) break;
        continue;
      }
      std::filesystem::remove_all(dir, ec);
    }
    std::vector<std::unique_ptr<log::partition>> opened;
    for (std::int32_t i = 0; i < topic.partitions; ++i) {
      auto p = log::partition::open(partition_directory(config.data_dir, topic.name, i), topic.config, wall_clock_ms());
      if (!p) {
        kafka_log.error("cannot create a partition; the topic is not created",
                        {{"topic", topic.name}, {"partition", i}, {"reason", p.error().message()}});
        opened.clear();
        for (std::int32_t j = 0; j <= i; ++j)
          std::filesystem::remove_all(partition_directory(config.data_dir, topic.name, j), ec);
        return error_code::kafka_storage_error;
      }
      opened.push_back(std::move(*p));
    }
    if (auto w = write_topic_metadata(config.data_dir, topic); !w) {
      kafka_log.error("cannot write the topic metadata; the topic is not created",
                      {{"topic", topic.name}, {"reason", w.error().message()}});
      opened.clear();
      for (std::int32_t j = 0; j < topic.partitions; ++j)
        std::filesystem::remove_all(partition_directory(config.data_dir, topic.name, j), ec);
      return error_code::kafka_storage_error;
    }
    std::map<std::size_t, std::vector<std::pair<std::int32_t, std::shared_ptr<partition_state>>>> by_shard;
    for (std::int32_t i = 0; i < topic.partitions; ++i) {
      auto state = std::make_shared<partition_state>();
      state->log = std::move(opened[static_cast<std::size_t>(i)]);
      by_shard[owner_of(topic.name, i)].emplace_back(i, std::move(state));
    }
    std::vector<std::size_t> which;
    for (const auto& [s, _] : by_shard) which.push_back(s);
    // Each shard only reads its own entry (const access: the map is shared by the shards).
    const auto& assigned = by_shard;
    on_shards_blocking(which, [&](shard_state& shard, std::size_t s) {
      for (const auto& [i, state] : assigned.at(s)) shard.partitions[partition_key(topic.name, i)] = state;
    });
    auto next = std::make_shared<topic_table>(*snapshot());
    kafka_log.info("topic created", {{"topic", topic.name}, {"partitions", topic.partitions}});
    next->emplace(topic.name, std::move(topic));
    publish(std::move(next));
    return error_code::none;
  }

  error_code delete_topic_blocking(const std::string& name) {
    std::lock_guard lock(admin_mutex);
    auto current = snapshot();
    auto it = current->find(name);
    if (it == current->end()) return error_code::unknown_topic_or_partition;
    const std::int32_t partitions = it->second.partitions;
    auto next = std::make_shared<topic_table>(*current);
    next->erase(name);
    publish(std::move(next));
    // The metadata file goes first: a crash after this leaves directories no topic refers to,
    // which a later creation of the same name removes.
    std::error_code ec;
    std::filesystem::remove(topic_metadata_path(config.data_dir, name), ec);
    if (auto dir = log::file::open(partition_directory(config.data_dir, name, 0), log::open_mode::directory); dir) {
      (void)dir->sync();
    }
    std::vector<std::size_t> which;
    for (std::int32_t i = 0; i < partitions; ++i) which.push_back(owner_of(name, i));
    std::sort(which.begin(), which.end());
    which.erase(std::unique(which.begin(), which.end()), which.end());
    on_shards_blocking(which, [&](shard_state& shard, std::size_t s) {
      for (std::int32_t i = 0; i < partitions; ++i) {
        if (owner_of(name, i) != s) continue;
        auto node = shard.partitions.extract(partition_key(name, i));
        if (node.empty()) continue;
        auto& state = *node.mapped();
        state.removed = true;
        if (state.compaction_cancel) state.compaction_cancel->store(true);
        state.log.reset();
        state.wake_fetchers();
        for (auto& w : state.durability_waiters) w->wake(error_code::unknown_topic_or_partition);
        state.durability_waiters.clear();
      }
    });
    for (std::int32_t i = 0; i < partitions; ++i) {
      std::filesystem::remove_all(partition_directory(config.data_dir, name, i), ec);
      if (ec) {
        kafka_log.warn("cannot remove a deleted partition's directory",
                       {{"topic", name}, {"partition", i}, {"reason", ec.message()}});
      }
    }
    kafka_log.info("topic deleted", {{"topic", name}, {"partitions", partitions}});
    return error_code::none;
  }

  result<std::int64_t> allocate_producer_id_blocking() {
    std::lock_guard lock(admin_mutex);
    const std::int64_t id = next_producer_id;
    if (auto w = write_next_producer_id(config.data_dir, id + 1); !w) return tl::unexpected(w.error());
    next_producer_id = id + 1;
    return id;
  }

  // ---- authorization (spec 5.7); without an authorizer everything is allowed ----------------

  bool allowed(const connection_context& context, security::resource_type type, std::string_view name,
               security::acl_operation operation) const {
    if (!config.authorizer) return true;
    const std::string_view principal = context.principal ? *context.principal : security::anonymous_principal;
    return config.authorizer->authorize(principal, type, name, operation);
  }
  bool topic_allowed(const connection_context& context, std::string_view topic,
                     security::acl_operation operation) const {
    return allowed(context, security::resource_type::topic, topic, operation);
  }
  // Creating a topic takes CREATE on the cluster or on the topic (auto-creation too, as Kafka).
  bool may_create(const connection_context& context, std::string_view topic) const {
    return allowed(context, security::resource_type::cluster, security::cluster_resource_name,
                   security::acl_operation::create) ||
           topic_allowed(context, topic, security::acl_operation::create);
  }

  // The topic, creating it when allowed. nullopt with the error to report otherwise.
  asio::awaitable<std::pair<std::optional<topic_metadata>, error_code>> resolve_topic(const std::string& name,
                                                                                      bool may_create) {
    if (!valid_topic_name(name)) co_return std::pair{std::nullopt, error_code::invalid_topic_exception};
    auto current = snapshot();
    if (auto it = current->find(name); it != current->end()) co_return std::pair{it->second, error_code::none};
    if (!may_create || !config.auto_create_topics || coordinator::is_internal_topic(name)) {
      co_return std::pair{std::nullopt, error_code::unknown_topic_or_partition};
    }
    topic_metadata topic;
    topic.name = name;
    topic.partitions = config.default_partitions;
    topic.config = config.default_topic;
    // Named, never a temporary inside co_await: see net::run_blocking on the g++ 12 bug.
    auto work = [this, topic]() mutable { return create_topic_blocking(std::move(topic)); };
    const auto created = co_await net::run_blocking(pool.blocking(), std::move(work));
    if (created != error_code::none && created != error_code::topic_already_exists) {
      co_return std::pair{std::nullopt, created};
    }
    current = snapshot();
    if (auto it = current->find(name); it != current->end()) co_return std::pair{it->second, error_code::none};
    co_return std::pair{std::nullopt, error_code::leader_not_available};
  }

  // ---- partition work, on the owner shard ----------------------------------------------------

  void start_sync(const std::shared_ptr<partition_state>& state, asio::io_context::executor_type owner) {
    if (state->log->config().flush == log::flush_policy::never) return;
    state->sync_wanted = true;
    if (state->sync_loops >= config.syncs_in_flight_max) return;
    ++state->sync_loops;
    asio::co_spawn(owner, sync_loop(state), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        kafka_log.error("a partition sync loop failed: {}", ex.what());
      }
    });
  }

  asio::awaitable<void> sync_loop(std::shared_ptr<partition_state> state) {
    if (state->log && state->log->config().flush == log::flush_policy::interval_ms) {
      const auto executor = co_await asio::this_coro::executor;
      asio::steady_timer timer(executor);
      timer.expires_after(std::chrono::milliseconds(state->log->config().flush_interval_ms));
      boost::system::error_code ignored;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    while (state->sync_wanted && !state->removed) {
      state->sync_wanted = false;
      const auto started = std::chrono::steady_clock::now();
      const bool indexes_due = started - state->indexes_synced_at >= index_sync_interval;
      auto handle = state->log->prepare_sync(indexes_due ? log::partition::sync_scope::with_indexes
                                                         : log::partition::sync_scope::log_only);
      result<log::sync_done> done = tl::unexpected(error{});
      if (handle) {
        auto work = [h = std::move(*handle)]() mutable { return h.run(); };
        done = co_await net::run_blocking(pool.blocking(), std::move(work));
      } else {
        done = tl::unexpected(handle.error());
      }
      if (state->removed) break;
      state->log->complete_sync(done);
      if (done) {
        if (indexes_due) state->indexes_synced_at = started;
        syncs.increment();
        sync_latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      } else {
        sync_failures.increment();
        kafka_log.error("partition sync failed; waiting acks=all produces get KAFKA_STORAGE_ERROR",
                        {{"directory", state->log->directory().string()}, {"reason", done.error().message()}});
      }
      wake_durable(*state, done ? error_code::none : error_code::kafka_storage_error);
    }
    --state->sync_loops;
  }

  // Wakes the waiters the durable offset now covers; after a failed sync, all of them.
  static void wake_durable(partition_state& state, error_code failure) {
    const std::int64_t durable = state.log ? state.log->durable_offset() : 0;
    auto& waiters = state.durability_waiters;
    auto keep = std::partition(waiters.begin(), waiters.end(),
                               [&](const auto& w) { return failure == error_code::none && w->target > durable; });
    for (auto it = keep; it != waiters.end(); ++it) (*it)->wake(failure);
    waiters.erase(keep, waiters.end());
  }

  asio::awaitable<append_outcome> append_on_owner(std::string topic, std::int32_t index, bytes data, std::int16_t acks,
                                                  bool zstd_allowed) {
    const auto owner = pool.shard(owner_of(topic, index)).get_executor();
    auto state = shards[owner_of(topic, index)].find(topic, index);
    append_outcome out;
    if (!state) {
      out.error = error_code::unknown_topic_or_partition;
      co_return out;
    }
    auto& p = *state->log;
    out.log_start_offset = p.log_start_offset();
    const auto batch = std::as_writable_bytes(std::span(data));
    auto header = log::parse_batch_header(batch);
    if (!header) {
      out.error = to_kafka_error(header.error().code);
      co_return out;
    }
    if (header->compression_id() == static_cast<std::uint8_t>(log::compression::zstd) && !zstd_allowed) {
      out.error = error_code::unsupported_compression_type;
      co_return out;
    }
    const bool wants_durability = acks == -1 && p.config().flush != log::flush_policy::never;
    const producer_batch producer{header->producer_id, header->producer_epoch, header->base_sequence,
                                  header->last_offset_delta};
    if (producer.producer_id >= 0) {
      if (auto valid = log::validate_producer_batch(batch); !valid) {
        out.error = to_kafka_error(valid.error().code);
        co_return out;
      }
      const auto verdict = state->producers.check(producer);
      if (verdict.outcome == sequence_check::verdict::reject) {
        out.error = verdict.error;
        co_return out;
      }
      if (verdict.outcome == sequence_check::verdict::duplicate) {
        out.base_offset = verdict.base_offset;
        if (wants_durability) out.durable_target = verdict.base_offset + 1;
        co_return out;
      }
    }
    auto appended = p.append(batch, wall_clock_ms());
    if (!appended) {
      out.error = to_kafka_error(appended.error().code);
      if (out.error == error_code::kafka_storage_error) {
        kafka_log.error("append failed",
                        {{"topic", topic}, {"partition", index}, {"reason", appended.error().message()}});
      }
      co_return out;
    }
    if (producer.producer_id >= 0) state->producers.record(producer, appended->base_offset);
    produced_bytes.increment(batch.size());
    produced_batches.increment();
    out.base_offset = appended->base_offset;
    out.log_start_offset = p.log_start_offset();
    if (wants_durability) out.durable_target = appended->last_offset + 1;
    state->wake_fetchers();
    start_sync(state, owner);
    co_return out;
  }

  // broker::append_durable: the append, then the wait for the sync that covers it, both on the
  // partition's owner.
  asio::awaitable<std::pair<error_code, std::int64_t>> append_durable(std::string topic, std::int32_t index,
                                                                      std::vector<std::byte> batch) {
    if (stopping) co_return std::pair{error_code::broker_not_available, std::int64_t{-1}};
    const auto* first = reinterpret_cast<const std::uint8_t*>(batch.data());
    auto out = co_await asio::co_spawn(owner_executor(topic, index),
                                       append_on_owner(topic, index, bytes(first, first + batch.size()), -1, true),
                                       asio::use_awaitable);
    if (out.error == error_code::none && out.durable_target >= 0) {
      out.error = co_await asio::co_spawn(owner_executor(topic, index),
                                          wait_durable_on_owner(topic, index, out.durable_target), asio::use_awaitable);
    }
    co_return std::pair{out.error, out.error == error_code::none ? out.base_offset : std::int64_t{-1}};
  }

  std::optional<std::int32_t> partition_count(std::string_view topic) const {
    auto current = snapshot();
    auto it = current->find(topic);
    if (it == current->end()) return std::nullopt;
    return it->second.partitions;
  }

  asio::awaitable<error_code> wait_durable_on_owner(std::string topic, std::int32_t index, std::int64_t target) {
    auto state = shards[owner_of(topic, index)].find(topic, index);
    if (!state) co_return error_code::unknown_topic_or_partition;
    if (state->log->durable_offset() >= target) co_return error_code::none;
    const auto executor = co_await asio::this_coro::executor;
    auto waiter = std::make_shared<durability_waiter>(executor, target);
    state->durability_waiters.push_back(waiter);
    if (state->sync_loops == 0) start_sync(state, pool.shard(owner_of(topic, index)).get_executor());
    boost::system::error_code ignored;
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_return waiter->result;
  }

  asio::awaitable<read_outcome> read_on_owner(std::string topic, std::int32_t index, std::int64_t offset,
                                              std::size_t limit, bool at_least_one,
                                              std::shared_ptr<fetch_waiter> waiter) {
    auto state = shards[owner_of(topic, index)].find(topic, index);
    read_outcome out;
    if (!state) {
      out.error = error_code::unknown_topic_or_partition;
      co_return out;
    }
    const auto& p = *state->log;
    out.high_watermark = p.next_offset();
    out.log_start_offset = p.log_start_offset();
    if (offset < p.log_start_offset() || offset > p.next_offset()) {
      out.error = error_code::offset_out_of_range;
      co_return out;
    }
    if (limit > 0 || at_least_one) {
      auto data = p.read(offset, std::max<std::size_t>(limit, 1));
      if (!data) {
        out.error = to_kafka_error(data.error().code);
        kafka_log.error("read failed", {{"topic", topic}, {"partition", index}, {"reason", data.error().message()}});
        co_return out;
      }
      const std::size_t keep = whole_batches_within(*data, limit, at_least_one);
      const auto* first = reinterpret_cast<const std::uint8_t*>(data->data());
      out.data.assign(first, first + keep);
    }
    if (waiter) {
      std::erase_if(state->fetch_waiters, [](const auto& w) { return w.expired(); });
      state->fetch_waiters.push_back(waiter);
    }
    co_return out;
  }

  asio::awaitable<list_outcome> list_on_owner(std::string topic, std::int32_t index, std::int64_t timestamp) {
    auto state = shards[owner_of(topic, index)].find(topic, index);
    list_outcome out;
    if (!state) {
      out.error = error_code::unknown_topic_or_partition;
      co_return out;
    }
    const auto& p = *state->log;
    if (timestamp == -1) {
      out.offset = p.next_offset();
    } else if (timestamp == -2) {
      out.offset = p.log_start_offset();
    } else {
      auto found = p.offset_for_timestamp(timestamp);
      if (!found) {
        out.error = to_kafka_error(found.error().code);
      } else if (*found) {
        out.offset = (*found)->offset;
        out.timestamp = (*found)->timestamp;
      }
    }
    co_return out;
  }

  // ---- handlers ------------------------------------------------------------------------------

  void describe_topic(message& t, const topic_metadata& topic) {
    t.i16("error_code") = 0;
    t.nullable_str("name") = topic.name;
    t.boolean("is_internal") = coordinator::is_internal_topic(topic.name);
    for (std::int32_t i = 0; i < topic.partitions; ++i) {
      auto& p = t.append("partitions");
      p.i16("error_code") = 0;
      p.i32("partition_index") = i;
      p.i32("leader_id") = config.node_id;
      p.values("replica_nodes").emplace_back(config.node_id);
      p.values("isr_nodes").emplace_back(config.node_id);
    }
  }

  asio::awaitable<message> metadata(const request_header& header, message& request, const connection_context& context) {
    message response = make_message(api_key::metadata, message_kind::response);
    auto& node = response.append("brokers");
    node.i32("node_id") = config.node_id;
    node.str("host") = config.advertised_host;
    node.i32("port") = advertised_port.load();
    response.nullable_str("cluster_id") = config.cluster_id;
    response.i32("controller_id") = config.node_id;
    if (request.is_null("topics")) {
      for (const auto& [name, topic] : *snapshot()) {
        if (topic_allowed(context, name, security::acl_operation::describe)) {
          describe_topic(response.append("topics"), topic);
        }
      }
      co_return response;
    }
    const bool allow_create = header.api_version < 4 || request.boolean("allow_auto_topic_creation");
    std::vector<std::string> names;
    for (const auto& t : request.array("topics")) names.push_back(t.nullable_str("name").value_or(""));
    for (const auto& name : names) {
      const bool visible = topic_allowed(context, name, security::acl_operation::describe);
      std::pair<std::optional<topic_metadata>, error_code> resolved{std::nullopt,
                                                                    error_code::topic_authorization_failed};
      if (visible) resolved = co_await resolve_topic(name, allow_create && may_create(context, name));
      auto& [topic, error] = resolved;
      auto& t = response.append("topics");
      if (topic) {
        describe_topic(t, *topic);
      } else {
        t.i16("error_code") = code(error);
        t.nullable_str("name") = name;
      }
    }
    co_return response;
  }

  asio::awaitable<std::optional<message>> produce(const request_header& header, message& request,
                                                  connection_context& context) {
    const auto received = std::chrono::steady_clock::now();
    message response = make_message(api_key::produce, message_kind::response);
    const std::int16_t acks = request.i16("acks");
    std::optional<error_code> whole_request_error;
    if (acks != -1 && acks != 0 && acks != 1) whole_request_error = error_code::invalid_required_acks;
    if (request.nullable_str("transactional_id")) {
      whole_request_error = error_code::transactional_id_authorization_failed;
    }
    struct pending {
      std::size_t topic_slot;
      std::size_t partition_slot;
      std::string topic;
      std::int32_t index;
      std::int64_t target;
    };
    std::vector<pending> waits;
    auto& topics = request.array("topic_data");
    for (std::size_t ti = 0; ti < topics.size(); ++ti) {
      auto& td = topics[ti];
      const std::string name = td.str("name");
      response.append("responses").str("name") = name;
      std::optional<topic_metadata> topic;
      error_code topic_error = whole_request_error.value_or(error_code::none);
      if (!whole_request_error && coordinator::is_internal_topic(name)) {
        topic_error = error_code::invalid_topic_exception;  // only the coordinator writes it
      } else if (!whole_request_error && !topic_allowed(context, name, security::acl_operation::write)) {
        topic_error = error_code::topic_authorization_failed;
      }
      if (topic_error == error_code::none) {
        auto resolved = co_await resolve_topic(name, may_create(context, name));
        topic = std::move(resolved.first);
        topic_error = resolved.second;
      }
      auto& partitions = td.array("partition_data");
      for (std::size_t pi = 0; pi < partitions.size(); ++pi) {
        auto& pd = partitions[pi];
        const std::int32_t index = pd.i32("index");
        append_outcome outcome;
        if (!topic) {
          outcome.error = topic_error;
        } else if (index < 0 || index >= topic->partitions) {
          outcome.error = error_code::unknown_topic_or_partition;
        } else if (auto& data = pd.batches("records").data; !data || data->empty()) {
          outcome.error = error_code::corrupt_message;
        } else {
          outcome = co_await asio::co_spawn(
              owner_executor(name, index),
              append_on_owner(name, index, std::move(*data), acks, header.api_version >= 7), asio::use_awaitable);
        }
        auto& pr = response.array("responses")[ti].append("partition_responses");
        pr.i32("index") = index;
        pr.i16("error_code") = code(outcome.error);
        pr.i64("base_offset") = outcome.base_offset;
        pr.i64("log_append_time_ms") = -1;
        pr.i64("log_start_offset") = outcome.log_start_offset;
        if (outcome.error == error_code::none && outcome.durable_target >= 0) {
          waits.push_back({ti, pi, name, index, outcome.durable_target});
        }
      }
    }
    // Every append is done (and its sync started) before waiting, so the partitions' syncs run
    // in parallel. The appends were the part that must follow request order: the connection's
    // next request (often the next produce of the same producer) may start now, and its
    // batches join the sync this one waits for (group commit across pipelined requests).
    if (context.release_ordering) context.release_ordering();
    for (const auto& w : waits) {
      const auto result = co_await asio::co_spawn(
          owner_executor(w.topic, w.index), wait_durable_on_owner(w.topic, w.index, w.target), asio::use_awaitable);
      if (result != error_code::none) {
        auto& pr = response.array("responses")[w.topic_slot].array("partition_responses")[w.partition_slot];
        pr.i16("error_code") = code(result);
        pr.i64("base_offset") = -1;
      }
    }
    produce_latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
    if (acks == 0) co_return std::nullopt;
    co_return response;
  }

  asio::awaitable<message> fetch(const request_header& header, message& request, const connection_context& context) {
    message response = make_message(api_key::fetch, message_kind::response);
    if (header.api_version >= 7 && request.i32("session_id") != 0) {
      response.i16("error_code") = code(error_code::fetch_session_id_not_found);
      co_return response;
    }
    const auto executor = co_await asio::this_coro::executor;
    const std::int64_t max_wait_ms = std::max(0, request.i32("max_wait_ms"));
    const std::int64_t min_bytes = request.i32("min_bytes");
    const std::int64_t max_bytes = std::max(0, request.i32("max_bytes"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait_ms);
    const auto& topics = request.array("topics");
    std::int64_t total = 0;
    for (;;) {
      std::shared_ptr<fetch_waiter> waiter;
      if (max_wait_ms > 0 && min_bytes > 0 && !stopping) waiter = std::make_shared<fetch_waiter>(executor);
      response = make_message(api_key::fetch, message_kind::response);
      total = 0;
      bool any_error = false;  // as Kafka: an error answers at once, the client must react
      auto current = snapshot();
      for (const auto& ft : topics) {
        const std::string& name = ft.str("topic");
        auto& tr = response.append("responses");
        tr.str("topic") = name;
        auto it = current->find(name);
        const bool readable = topic_allowed(context, name, security::acl_operation::read);
        for (const auto& fp : ft.array("partitions")) {
          const std::int32_t index = fp.i32("partition");
          auto& pr = tr.append("partitions");
          pr.i32("partition_index") = index;
          pr.i32("preferred_read_replica") = -1;
          read_outcome outcome;
          if (!readable) {
            outcome.error = error_code::topic_authorization_failed;
          } else if (it == current->end() || index < 0 || index >= it->second.partitions) {
            outcome.error = error_code::unknown_topic_or_partition;
          } else {
            const std::int64_t remaining = std::max<std::int64_t>(0, max_bytes - total);
            const std::int64_t limit = std::min<std::int64_t>(std::max(0, fp.i32("partition_max_bytes")), remaining);
            outcome = co_await asio::co_spawn(
                owner_executor(name, index),
                read_on_owner(name, index, fp.i64("fetch_offset"), static_cast<std::size_t>(limit), total == 0, waiter),
                asio::use_awaitable);
          }
          if (outcome.error != error_code::none) any_error = true;
          pr.i16("error_code") = code(outcome.error);
          pr.i64("high_watermark") = outcome.high_watermark;
          pr.i64("last_stable_offset") = outcome.high_watermark;
          pr.i64("log_start_offset") = outcome.log_start_offset;
          total += static_cast<std::int64_t>(outcome.data.size());
          pr.batches("records").data = std::move(outcome.data);
        }
      }
      if (!waiter || any_error || total >= min_bytes || std::chrono::steady_clock::now() >= deadline || stopping) break;
      waiter->timer.expires_at(deadline);
      if (!waiter->fired) {
        boost::system::error_code ignored;
        co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
    }
    fetched_bytes.increment(static_cast<std::uint64_t>(total));
    co_return response;
  }

  asio::awaitable<message> list_offsets(message& request, const connection_context& context) {
    message response = make_message(api_key::list_offsets, message_kind::response);
    auto current = snapshot();
    for (const auto& lt : request.array("topics")) {
      const std::string& name = lt.str("name");
      auto& tr = response.append("topics");
      tr.str("name") = name;
      auto it = current->find(name);
      const bool visible = topic_allowed(context, name, security::acl_operation::describe);
      for (const auto& lp : lt.array("partitions")) {
        const std::int32_t index = lp.i32("partition_index");
        list_outcome outcome;
        if (!visible) {
          outcome.error = error_code::topic_authorization_failed;
        } else if (it == current->end() || index < 0 || index >= it->second.partitions) {
          outcome.error = error_code::unknown_topic_or_partition;
        } else {
          outcome = co_await asio::co_spawn(owner_executor(name, index),
                                            list_on_owner(name, index, lp.i64("timestamp")), asio::use_awaitable);
        }
        auto& pr = tr.append("partitions");
        pr.i32("partition_index") = index;
        pr.i16("error_code") = code(outcome.error);
        pr.i64("timestamp") = outcome.timestamp;
        pr.i64("offset") = outcome.offset;
      }
    }
    co_return response;
  }

  asio::awaitable<message> create_topics(const request_header& header, message& request,
                                         const connection_context& context) {
    message response = make_message(api_key::create_topics, message_kind::response);
    const bool validate_only = header.api_version >= 1 && request.boolean("validate_only");
    std::map<std::string, int> occurrences;
    for (const auto& ct : request.array("topics")) ++occurrences[ct.str("name")];
    for (const auto& ct : request.array("topics")) {
      const std::string& name = ct.str("name");
      auto fail = [&](error_code e, std::string why) {
        auto& r = response.append("topics");
        r.str("name") = name;
        r.i16("error_code") = code(e);
        r.nullable_str("error_message") = std::move(why);
      };
      if (occurrences[name] > 1) {
        fail(error_code::invalid_request, "the topic appears more than once in the request");
        continue;
      }
      if (!may_create(context, name)) {
        fail(error_code::topic_authorization_failed, "not authorized to create this topic");
        continue;
      }
      if (!valid_topic_name(name)) {
        fail(error_code::invalid_topic_exception, "topic names are 1-249 characters of [a-zA-Z0-9._-], not . or ..");
        continue;
      }
      topic_metadata topic;
      topic.name = name;
      topic.config = config.default_topic;
      const auto& assignments = ct.array("assignments");
      std::int32_t partitions = ct.i32("num_partitions");
      if (!assignments.empty()) {
        bool ok = partitions == -1;
        for (const auto& a : assignments) {
          const auto& ids = a.values("broker_ids");
          ok = ok && ids.size() == 1 && std::get<std::int32_t>(ids[0]) == config.node_id;
        }
        if (!ok) {
          fail(error_code::invalid_replica_assignment, "replicas may only be this node");
          continue;
        }
        partitions = static_cast<std::int32_t>(assignments.size());
      }
      if (partitions == -1) partitions = config.default_partitions;
      if (partitions < 1 || partitions > 100'000) {
        fail(error_code::invalid_partitions, "the partition count must be at least 1");
        continue;
      }
      topic.partitions = partitions;
      const std::int16_t replication = ct.i16("replication_factor");
      if (replication != -1 && replication != 1) {
        fail(error_code::invalid_replication_factor, "a single node holds one replica");
        continue;
      }
      std::optional<std::string> config_error;
      for (const auto& c : ct.array("configs")) {
        const auto& value = c.nullable_str("value");
        if (!value) continue;
        if (auto r = apply_topic_config(topic.config, c.str("name"), *value); !r) {
          config_error = r.error().context;
          break;
        }
        topic.overrides[c.str("name")] = *value;
      }
      if (config_error) {
        fail(error_code::invalid_config, *config_error);
        continue;
      }
      if (snapshot()->contains(name)) {
        fail(error_code::topic_already_exists, "the topic exists");
        continue;
      }
      error_code created = error_code::none;
      if (!validate_only) {
        auto work = [this, topic]() mutable { return create_topic_blocking(std::move(topic)); };
        created = co_await net::run_blocking(pool.blocking(), std::move(work));
      }
      auto& r = response.append("topics");
      r.str("name") = name;
      r.i16("error_code") = code(created);
    }
    co_return response;
  }

  asio::awaitable<message> delete_topics(message& request, const connection_context& context) {
    message response = make_message(api_key::delete_topics, message_kind::response);
    std::vector<std::string> names;
    for (const auto& v : request.values("topic_names")) names.push_back(std::get<std::string>(v));
    for (const auto& name : names) {
      if (!topic_allowed(context, name, security::acl_operation::delete_)) {
        auto& r = response.append("responses");
        r.str("name") = name;
        r.i16("error_code") = code(error_code::topic_authorization_failed);
        continue;
      }
      auto work = [this, name] { return delete_topic_blocking(name); };
      const auto deleted = coordinator::is_internal_topic(name)
                               ? error_code::invalid_topic_exception
                               : co_await net::run_blocking(pool.blocking(), std::move(work));
      if (deleted == error_code::none) co_await groups->topic_deleted(name);
      auto& r = response.append("responses");
      r.str("name") = name;
      r.i16("error_code") = code(deleted);
    }
    co_return response;
  }

  asio::awaitable<message> init_producer_id(message& request, const connection_context& context) {
    message response = make_message(api_key::init_producer_id, message_kind::response);
    if (request.nullable_str("transactional_id")) {
      response.i16("error_code") = code(error_code::transactional_id_authorization_failed);
      co_return response;
    }
    // An idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (Kafka 3).
    if (config.authorizer) {
      const std::string_view principal = context.principal ? *context.principal : security::anonymous_principal;
      if (!allowed(context, security::resource_type::cluster, security::cluster_resource_name,
                   security::acl_operation::idempotent_write) &&
          !config.authorizer->authorize_any(principal, security::resource_type::topic,
                                            security::acl_operation::write)) {
        response.i16("error_code") = code(error_code::cluster_authorization_failed);
        co_return response;
      }
    }
    auto work = [this] { return allocate_producer_id_blocking(); };
    auto id = co_await net::run_blocking(pool.blocking(), std::move(work));
    if (!id) {
      kafka_log.error("cannot persist the producer id counter", {{"reason", id.error().message()}});
      response.i16("error_code") = code(error_code::coordinator_not_available);
      co_return response;
    }
    response.i64("producer_id") = *id;
    response.i16("producer_epoch") = 0;
    co_return response;
  }

  static void add_config(message& result, std::string_view name, std::string value, bool is_default,
                         std::int8_t source) {
    auto& c = result.append("configs");
    c.str("name") = std::string(name);
    c.nullable_str("value") = std::move(value);
    c.boolean("read_only") = source == 4;
    c.boolean("is_default") = is_default;
    c.i8("config_source") = source;
    c.boolean("is_sensitive") = false;
  }

  message describe_configs(message& request, const connection_context& context) {
    constexpr std::int8_t topic_resource = 2;
    constexpr std::int8_t broker_resource = 4;
    constexpr std::int8_t dynamic_topic_config = 1;
    constexpr std::int8_t static_broker_config = 4;
    constexpr std::int8_t default_config = 5;
    message response = make_message(api_key::describe_configs, message_kind::response);
    auto current = snapshot();
    for (const auto& resource : request.array("resources")) {
      auto& r = response.append("results");
      const std::int8_t type = resource.i8("resource_type");
      const std::string& name = resource.str("resource_name");
      r.i8("resource_type") = type;
      r.str("resource_name") = name;
      std::optional<std::unordered_set<std::string>> wanted;
      if (!resource.is_null("configuration_keys")) {
        wanted.emplace();
        for (const auto& k : resource.values("configuration_keys")) wanted->insert(std::get<std::string>(k));
      }
      auto include = [&](std::string_view key) { return !wanted || wanted->contains(std::string(key)); };
      if (type == topic_resource && !topic_allowed(context, name, security::acl_operation::describe_configs)) {
        r.i16("error_code") = code(error_code::topic_authorization_failed);
      } else if (type == broker_resource &&
                 !allowed(context, security::resource_type::cluster, security::cluster_resource_name,
                          security::acl_operation::describe_configs)) {
        r.i16("error_code") = code(error_code::cluster_authorization_failed);
      } else if (type == topic_resource) {
        auto it = current->find(name);
        if (it == current->end()) {
          r.i16("error_code") = code(error_code::unknown_topic_or_partition);
          continue;
        }
        for (std::string_view key : topic_config_keys) {
          if (!include(key)) continue;
          const bool overridden = it->second.overrides.contains(std::string(key));
          add_config(r, key, *topic_config_value(it->second.config, key), !overridden,
                     overridden ? dynamic_topic_config : default_config);
        }
        if (include("compression.type")) add_config(r, "compression.type", "producer", true, default_config);
        if (include("message.timestamp.type")) {
          add_config(r, "message.timestamp.type", "CreateTime", true, default_config);
        }
        if (include("min.insync.replicas")) add_config(r, "min.insync.replicas", "1", true, default_config);
      } else if (type == broker_resource) {
        if (!name.empty() && name != std::to_string(config.node_id)) {
          r.i16("error_code") = code(error_code::invalid_request);
          r.nullable_str("error_message") = "unknown broker";
          continue;
        }
        const std::pair<std::string_view, std::string> entries[] = {
            {"broker.id", std::to_string(config.node_id)},
            {"num.partitions", std::to_string(config.default_partitions)},
            {"auto.create.topics.enable", config.auto_create_topics ? "true" : "false"},
            {"default.replication.factor", "1"},
            {"message.max.bytes", std::to_string(config.default_topic.batch_bytes_max)},
            {"log.retention.ms", std::to_string(config.default_topic.retention_ms)},
            {"log.segment.bytes", std::to_string(config.default_topic.segment_bytes)},
        };
        for (const auto& [key, value] : entries) {
          if (include(key)) add_config(r, key, value, false, static_broker_config);
        }
      } else {
        r.i16("error_code") = code(error_code::invalid_request);
        r.nullable_str("error_message") = "unsupported resource type";
      }
    }
    return response;
  }

  // APIs the listener advertises that this broker does not serve yet (SASL): a well-formed
  // response whose error tells the client the service is unavailable.
  static message unavailable(const request_header& header) {
    message response = make_message(header.key, message_kind::response);
    const auto e =
        header.key == api_key::sasl_handshake ? error_code::unsupported_sasl_mechanism : error_code::illegal_sasl_state;
    if (response.find("error_code")) response.i16("error_code") = code(e);
    return response;
  }

  // ---- shutdown ------------------------------------------------------------------------------

  void stop() {
    if (stopping.exchange(true)) return;
    groups->stop();
    std::vector<std::size_t> all;
    for (std::size_t s = 0; s < shards.size(); ++s) all.push_back(s);
    std::size_t synced = 0;
    std::mutex count_mutex;
    on_shards_blocking(all, [&](shard_state& shard, std::size_t) {
      std::size_t here = 0;
      if (shard.retention_timer) shard.retention_timer->cancel();
      for (auto& [key, state] : shard.partitions) {
        state->wake_fetchers();
        if (state->compaction_cancel) state->compaction_cancel->store(true);
        // A running sync loop finishes on its own (the blocking pool outlives stop()).
        if (state->sync_loops > 0 || state->log->config().flush == log::flush_policy::never) continue;
        if (state->log->durable_offset() < state->log->next_offset()) {
          if (auto r = state->log->sync(); !r) {
            kafka_log.error("final sync failed",
                            {{"topic", key.first}, {"partition", key.second}, {"reason", r.error().message()}});
          }
          ++here;
        }
        wake_durable(*state, error_code::none);
      }
      std::lock_guard lock(count_mutex);
      synced += here;
    });
    kafka_log.info("broker stopped", {{"partitions_synced", synced}});
  }
};

// The group coordinator's access to `__consumer_offsets`: a compacted topic of this broker,
// written with acks=all semantics (answered after the fsync that covers the batch).
struct broker_offsets_log final : coordinator::offsets_log {
  explicit broker_offsets_log(broker::impl& b) : i(b) {}
  broker::impl& i;
  static constexpr std::string_view name = coordinator::offsets_topic;

  asio::awaitable<std::pair<error_code, std::int32_t>> open_offsets_topic(std::int32_t partitions,
                                                                          bool create) override {
    if (auto n = partitions_of(name)) co_return std::pair{error_code::none, *n};
    if (!create) co_return std::pair{error_code::none, 0};
    topic_metadata topic;
    topic.name = std::string(name);
    topic.partitions = partitions;
    topic.config = i.config.default_topic;
    topic.config.flush = log::flush_policy::always;
    for (const auto& [key, value] : {std::pair{"cleanup.policy", "compact"}, std::pair{"retention.ms", "-1"}}) {
      auto applied = apply_topic_config(topic.config, key, value);
      SUBSTRATE_ASSERT(applied.has_value(), "internal topic config {}={} refused", key, value);
      topic.overrides[key] = value;
    }
    auto work = [this, topic]() mutable { return i.create_topic_blocking(std::move(topic)); };
    const auto created = co_await net::run_blocking(i.pool.blocking(), std::move(work));
    if (created != error_code::none && created != error_code::topic_already_exists) co_return std::pair{created, 0};
    co_return std::pair{error_code::none, partitions_of(name).value_or(0)};
  }

  asio::awaitable<coordinator::log_read> read(std::int32_t partition, std::int64_t offset) override {
    auto out = co_await asio::co_spawn(i.owner_executor(name, partition),
                                       i.read_on_owner(std::string(name), partition, offset, 1 << 20, true, nullptr),
                                       asio::use_awaitable);
    co_return coordinator::log_read{out.error, out.high_watermark, std::move(out.data)};
  }

  asio::awaitable<std::pair<error_code, std::int64_t>> append(std::int32_t partition,
                                                              std::vector<std::byte> batch) override {
    co_return co_await i.append_durable(std::string(name), partition, std::move(batch));
  }

  std::optional<std::int32_t> partitions_of(std::string_view topic) const override { return i.partition_count(topic); }
};

broker::broker(net::io_pool& pool, broker_config config, core::metrics_registry& metrics)
    : impl_(std::make_unique<impl>(pool, std::move(config), metrics)) {
  if (impl_->config.default_partitions < 1) throw std::runtime_error("default_partitions must be at least 1");
  if (auto valid = log::validate(impl_->config.default_topic); !valid) {
    throw std::runtime_error("default topic config: " + valid.error().message());
  }
  impl_->recover();
  impl_->start_retention();
  auto& i = *impl_;
  i.offsets_access = std::make_unique<broker_offsets_log>(i);
  coordinator::coordinator_config groups;
  groups.groups.initial_rebalance_delay_ms = i.config.group_initial_rebalance_delay_ms;
  groups.groups.member_id_seed = std::random_device{}();
  groups.node = [&i] {
    return coordinator::node_address{i.config.node_id, i.config.advertised_host, i.advertised_port.load()};
  };
  i.groups = std::make_unique<coordinator::group_coordinator>(pool, *i.offsets_access, std::move(groups), metrics);
  i.groups->start();
}

broker::~broker() = default;

void broker::set_advertised_port(std::uint16_t port) {
  impl_->advertised_port = port;
}

boost::asio::awaitable<result<std::optional<message>>> broker::handle(const request_header& header, message& request,
                                                                      connection_context& context) {
  auto& i = *impl_;
  switch (header.key) {
    case api_key::metadata:
      co_return std::optional<message>(co_await i.metadata(header, request, context));
    case api_key::produce:
      co_return co_await i.produce(header, request, context);
    case api_key::fetch:
      // A Fetch changes nothing and may park for max_wait_ms: later requests need not wait.
      if (context.release_ordering) context.release_ordering();
      co_return std::optional<message>(co_await i.fetch(header, request, context));
    case api_key::list_offsets:
      co_return std::optional<message>(co_await i.list_offsets(request, context));
    case api_key::create_topics:
      co_return std::optional<message>(co_await i.create_topics(header, request, context));
    case api_key::delete_topics:
      co_return std::optional<message>(co_await i.delete_topics(request, context));
    case api_key::init_producer_id:
      co_return std::optional<message>(co_await i.init_producer_id(request, context));
    case api_key::describe_configs:
      co_return std::optional<message>(i.describe_configs(request, context));
    default:
      if (coordinator::group_coordinator::handles(header.key)) {
        if (!i.config.authorizer) co_return std::optional<message>(co_await i.groups->handle(header, request, context));
        const group_access access{
            [&](std::string_view group, security::acl_operation op) {
              return i.allowed(context, security::resource_type::group, group, op);
            },
            [&](std::string_view topic, security::acl_operation op) { return i.topic_allowed(context, topic, op); }};
        auto screening = screen_group_request(header, request, access);
        if (screening.refusal) co_return std::move(screening.refusal);
        message response = co_await i.groups->handle(header, request, context);
        screen_group_response(header, response, std::move(screening), access);
        co_return std::optional<message>(std::move(response));
      }
      co_return std::optional<message>(impl::unavailable(header));
  }
}

void broker::stop() {
  impl_->stop();
}

error_code broker::authorize_group(const connection_context& context, std::string_view group_id,
                                   security::acl_operation operation) const {
  return impl_->allowed(context, security::resource_type::group, group_id, operation)
             ? error_code::none
             : error_code::group_authorization_failed;
}

error_code broker::authorize_topic(const connection_context& context, std::string_view topic,
                                   security::acl_operation operation) const {
  return impl_->topic_allowed(context, topic, operation) ? error_code::none : error_code::topic_authorization_failed;
}

asio::awaitable<std::pair<error_code, std::int64_t>> broker::append_durable(std::string topic, std::int32_t partition,
                                                                            std::vector<std::byte> batch) {
  co_return co_await impl_->append_durable(std::move(topic), partition, std::move(batch));
}

std::optional<std::int32_t> broker::partition_count(std::string_view topic) const {
  return impl_->partition_count(topic);
}

}  // namespace substrate::kafka
