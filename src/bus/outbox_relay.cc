#include "bus/outbox_relay.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "avro/errc.h"
#include "bus/errc.h"
#include "bus/logger.h"
#include "bus/topic_reader.h"
#include "db/connection.h"
#include "db/errc.h"

namespace substrate::bus {
namespace {

using clock_type = std::chrono::steady_clock;

// The relay's lock: the two-key form, a key space of its own (migrations use the one-key form).
constexpr const char* try_lock_sql = "select pg_try_advisory_lock(hashtext('substrate'), hashtext('outbox_relay'))";

// The floor needs ids handed out in time order: the id column's sequence with cache 1 (bigserial's
// default; with a cache each session hands out ids from its own range).
constexpr const char* ids_in_order_sql =
    "select s.seqcache = 1 from pg_sequence s "
    "where s.seqrelid = pg_get_serial_sequence('substrate.outbox', 'id')::regclass";

constexpr const char* select_sql =
    "select id, topic, key, payload::text from substrate.outbox where id > $3 and not (topic = any($1::text[])) "
    "order by id limit $2";
constexpr const char* delete_sql = "delete from substrate.outbox where id = any($1::bigint[])";

// The transactions (virtual ids, those of prepared transactions included) that hold or wait for a
// write lock on the outbox, other than the relay's. Every writer takes it before the row's id is
// drawn (when INSERT or COPY opens the table) and keeps it to its commit or rollback.
constexpr const char* writers_sql =
    "select coalesce(array_agg(virtualtransaction), '{}')::text from pg_locks "
    "where locktype = 'relation' and mode = 'RowExclusiveLock' "
    "and database = (select oid from pg_database where datname = current_database()) "
    "and relation = 'substrate.outbox'::regclass and pid is distinct from pg_backend_pid()";

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// A PostgreSQL array literal of text values: {"a","b\"c"}.
std::string text_array(const std::set<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (const auto id : ids) {
    if (out.size() > 1) out += ',';
    out += std::to_string(id);
  }
  return out + "}";
}

bool is_database_error(const error& e) {
  return e.code.category() == db::db_category();
}

// The elements of a one-dimensional text array literal without quoting ({a,b}; virtual
// transaction ids are "backend/local").
std::set<std::string> parse_text_array(std::string_view text) {
  std::set<std::string> out;
  if (text.size() < 2) return out;
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.emplace(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Statements in one round trip; a failure as a database error.
result<std::vector<db::query_result>> run_statements(db::connection& conn,
                                                     const std::vector<db::connection::pipelined>& work) {
  db::server_error failure;
  auto results = conn.exec_pipeline(work, failure);
  if (!results) {
    return make_error(db::errc::query_failed,
                      failure.message.empty() ? std::string("the connection failed") : failure.message);
  }
  return std::move(*results);
}

// JSON that does not fit the schema, or a topic nobody has a schema for: retrying cannot help.
bool never_encodable(const error& e) {
  return e.code.category() == avro::avro_category() || e.code == errc::no_schema_for_topic;
}

}  // namespace

struct outbox_relay::impl {
  outbox_relay_options options;
  avro_serializer& serializer;
  producer& out;
  kafka_connection connection;

  core::counter* relayed_metric = nullptr;
  core::counter* recovered_metric = nullptr;
  core::counter* dead_metric = nullptr;
  core::counter* failed_metric = nullptr;
  core::gauge* active_metric = nullptr;

  std::thread thread;
  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  outbox_relay_stats stats;

  std::set<std::string> prepared;                        // topics the producer knows
  std::map<std::string, clock_type::time_point> held;    // topic -> retry after
  std::map<std::string, clock_type::time_point> warned;  // rate limit of repeated warnings

  // The floor (outbox_relay.h; relay thread only). Invariant: every row with an id <= floor_id
  // that exists or will ever exist has been relayed (or moved to outbox_dead).
  struct floor_candidate {
    std::int64_t id = 0;            // a round's last id
    std::set<std::string> writers;  // outbox writers after that round read
    bool settled = false;           // all of them ended since
  };
  bool ids_in_order = false;
  std::int64_t floor_id = 0;
  std::int64_t highest_done = 0;  // the largest id relayed by rounds that relayed all they read
  std::optional<floor_candidate> candidate;
  clock_type::time_point last_full_scan{};
  void reset_floor() {
    floor_id = 0;
    highest_done = 0;
    candidate.reset();
    std::lock_guard lock(mutex);
    stats.floor_id = 0;
  }

  impl(outbox_relay_options o, avro_serializer& s, producer& p, kafka_connection c)
      : options(std::move(o)), serializer(s), out(p), connection(std::move(c)) {}

  // Sleeps unless stopping; false when stopping.
  bool pause(std::int64_t ms) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
    return !stopping;
  }
  bool stopping_now() const {
    std::lock_guard lock(mutex);
    return stopping;
  }
  void set_active(bool active) {
    {
      std::lock_guard lock(mutex);
      stats.active = active;
    }
    if (active_metric) active_metric->set(active ? 1 : 0);
  }
  template <class... Args>
  void warn_limited(const std::string& key, fmt::format_string<Args...> format, Args&&... args) {
    const auto now = clock_type::now();
    auto& last = warned[key];
    if (last != clock_type::time_point{} && now - last < std::chrono::seconds(30)) return;
    last = now;
    bus_log.warn(format, std::forward<Args>(args)...);
  }
  void hold(const std::string& topic) {
    held[topic] = clock_type::now() + std::chrono::milliseconds(options.retry_backoff_ms);
  }

  void run();
  result<void> recover(db::connection& conn);
  struct round_outcome {
    std::size_t rows = 0;
    std::size_t progressed = 0;  // rows delivered or dead-lettered
    bool delivery_failed = false;
  };
  result<round_outcome> round(db::connection& conn);
  // Deletes the acknowledged rows and moves the floor, in one round trip.
  result<void> finish_round(db::connection& conn, std::size_t rows_read, std::int64_t last_id, bool all_done,
                            const std::vector<std::int64_t>& acknowledged);
};

void outbox_relay::impl::run() {
  while (!stopping_now()) {
    auto conn = db::connection::open(options.conninfo, static_cast<int>(options.connect_timeout_ms));
    if (!conn) {
      warn_limited("connect", "outbox relay: cannot connect to the database, retrying: {}", conn.error().message());
      if (!pause(options.retry_backoff_ms)) break;
      continue;
    }
    bool locked = false;
    bool told_standby = false;
    while (!stopping_now()) {
      auto r = conn->exec(try_lock_sql);
      if (!r) {
        warn_limited("lock", "outbox relay: taking the relay lock failed, reconnecting: {}", r.error().message());
        break;
      }
      if (r->rows() == 1 && r->value(0, 0) == "t") {
        locked = true;
        break;
      }
      if (!told_standby) {
        bus_log.info("outbox relay standing by: another relay holds this database's relay lock");
        told_standby = true;
      }
      if (!pause(options.lock_retry_ms)) break;
    }
    if (!locked) {
      if (!pause(options.retry_backoff_ms)) break;
      continue;
    }
    set_active(true);
    bus_log.info("outbox relay active: holding this database's relay lock");
    reset_floor();
    auto in_order = conn->exec(ids_in_order_sql);
    ids_in_order = in_order && in_order->rows() == 1 && in_order->value(0, 0) == "t";
    if (!ids_in_order) {
      bus_log.info(
          "outbox relay: substrate.outbox ids do not come from a sequence with cache 1; every round reads "
          "from the table's start");
    }
    bool need_recovery = true;
    bool reconnect = false;
    while (!reconnect && !stopping_now()) {
      if (need_recovery) {
        if (auto recovered = recover(*conn); !recovered) {
          reconnect = is_database_error(recovered.error());
          warn_limited("recover", "outbox relay: recovery scan failed, retrying: {}", recovered.error().message());
          if (failed_metric) failed_metric->increment();
          {
            std::lock_guard lock(mutex);
            ++stats.rounds_failed;
          }
          if (!pause(options.retry_backoff_ms)) break;
          continue;
        }
        need_recovery = false;
      }
      auto outcome = round(*conn);
      if (!outcome) {
        warn_limited("round", "outbox relay: database error, reconnecting: {}", outcome.error().message());
        reconnect = true;
        break;
      }
      if (outcome->delivery_failed) {
        if (failed_metric) failed_metric->increment();
        {
          std::lock_guard lock(mutex);
          ++stats.rounds_failed;
        }
        need_recovery = true;
        reset_floor();  // the rows that failed are below it now
        if (!pause(options.retry_backoff_ms)) break;
        continue;
      }
      const bool full = outcome->rows >= static_cast<std::size_t>(options.batch_size);
      if (!full || outcome->progressed == 0) {
        if (!pause(outcome->progressed == 0 && outcome->rows > 0 ? options.retry_backoff_ms
                                                                 : options.poll_interval_ms)) {
          break;
        }
      }
    }
    set_active(false);
    if (!stopping_now()) {
      bus_log.warn("outbox relay lost its database session; reconnecting");
      if (!pause(options.retry_backoff_ms)) break;
    }
  }
  set_active(false);
}

result<void> outbox_relay::impl::recover(db::connection& conn) {
  auto pending = conn.exec(
      "select topic, min(id), (extract(epoch from min(created_at)) * 1000)::bigint from substrate.outbox group by "
      "topic order by topic");
  if (!pending) return tl::unexpected(pending.error());
  if (pending->rows() == 0) return {};
  topic_reader reader(connection, "substrate-outbox-relay");
  std::vector<std::int64_t> delivered;
  for (int row = 0; row < pending->rows(); ++row) {
    const std::string topic = pending->value(row, 0);
    const auto min_id = parse_id(pending->value(row, 1)).value_or(0);
    const auto oldest_ms = parse_id(pending->value(row, 2)).value_or(0);
    auto partitions = reader.partitions(topic, options.kafka_timeout_ms);
    if (!partitions) {
      if (partitions.error().code == errc::produce_rejected) continue;  // no such topic: nothing delivered there
      return tl::unexpected(partitions.error());
    }
    for (const auto p : *partitions) {
      auto marks = reader.offsets(topic, p, options.kafka_timeout_ms);
      if (!marks) return tl::unexpected(marks.error());
      std::int64_t end = marks->high;
      bool stop = false;
      while (!stop && end > marks->low) {
        const auto start = std::max(marks->low, end - options.scan_chunk_records);
        auto records = reader.read_range(topic, p, start, end, options.kafka_timeout_ms);
        if (!records) return tl::unexpected(records.error());
        for (auto it = records->rbegin(); it != records->rend(); ++it) {
          if (auto header = it->header(outbox_id_header)) {
            const auto id = parse_id(*header);
            if (!id) continue;
            if (*id < min_id) {
              stop = true;
              break;
            }
            delivered.push_back(*id);
          } else if (it->timestamp_ms >= 0 && it->timestamp_ms < oldest_ms - options.clock_skew_ms) {
            stop = true;
            break;
          }
        }
        end = start;
      }
    }
  }
  if (delivered.empty()) return {};
  auto deleted =
      conn.exec("delete from substrate.outbox where id = any($1::bigint[]) returning id", {id_array(delivered)});
  if (!deleted) return tl::unexpected(deleted.error());
  const auto found = static_cast<std::uint64_t>(deleted->rows());
  if (found == 0) return {};
  {
    std::lock_guard lock(mutex);
    stats.recovered += found;
  }
  if (recovered_metric) recovered_metric->increment(found);
  bus_log.info(
      "outbox relay recovery: {} pending rows were already on their topics (delivered before a crash); "
      "deleted without producing them again",
      found);
  return {};
}

result<outbox_relay::impl::round_outcome> outbox_relay::impl::round(db::connection& conn) {
  const auto now = clock_type::now();
  std::erase_if(held, [&](const auto& entry) { return entry.second <= now; });
  std::set<std::string> held_topics;
  for (const auto& [topic, until] : held) held_topics.insert(topic);
  // From the floor, or from the start when it cannot be used or it is time for a full scan.
  const bool full_scan = !ids_in_order || floor_id == 0 ||
                         now - last_full_scan >= std::chrono::milliseconds(options.full_scan_interval_ms);
  if (full_scan) last_full_scan = now;
  const std::int64_t scan_from = full_scan ? 0 : floor_id;
  auto selected = run_statements(
      conn,
      {{select_sql, {text_array(held_topics), std::to_string(options.batch_size), std::to_string(scan_from)}, true}});
  if (!selected) return tl::unexpected(selected.error());
  const auto* rows = &selected->front();
  round_outcome outcome;
  outcome.rows = static_cast<std::size_t>(rows->rows());
  if (outcome.rows == 0) {
    if (auto finished = finish_round(conn, 0, 0, held.empty(), {}); !finished) return tl::unexpected(finished.error());
    return outcome;
  }

  struct sent {
    std::int64_t id = 0;
    std::string topic;
    std::optional<result<delivery>> done;
  };
  std::vector<sent> batch;
  batch.reserve(outcome.rows);
  std::mutex done_mutex;
  std::condition_variable done_changed;
  std::size_t done_count = 0;
  // The number of records enqueued, once all are (the last callback wakes the round then, not
  // every callback: a wake-up per record cost a futex call and a context switch each).
  std::size_t expected = std::numeric_limits<std::size_t>::max();
  std::set<std::string> skipped;  // topics held back in this round: their later rows wait too

  for (int row = 0; row < rows->rows(); ++row) {
    const auto id = parse_id(rows->value(row, 0)).value_or(0);
    const std::string topic = rows->value(row, 1);
    if (skipped.contains(topic)) continue;
    std::optional<std::string> key;
    if (!rows->is_null(row, 2)) key = rows->value(row, 2);
    const std::string payload = rows->value(row, 3);

    if (!prepared.contains(topic)) {
      if (auto ready = out.prepare({topic}, options.kafka_timeout_ms); !ready) {
        warn_limited("topic:" + topic, "outbox relay: topic {} not writable, holding its rows back: {}", topic,
                     ready.error().message());
        hold(topic);
        skipped.insert(topic);
        continue;
      }
      prepared.insert(topic);
    }
    auto value = serializer.encode(topic, payload);
    if (!value) {
      if (never_encodable(value.error())) {
        // Never log the payload (STYLE.md 5): the id finds it in substrate.outbox_dead.
        const std::string reason = value.error().message();
        auto moved = conn.exec(
            "with moved as (delete from substrate.outbox where id = $1 returning id, topic, key, payload, created_at) "
            "insert into substrate.outbox_dead (id, topic, key, payload, created_at, error) "
            "select id, topic, key, payload, created_at, $2 from moved",
            {std::to_string(id), reason});
        if (!moved) return tl::unexpected(moved.error());
        bus_log.warn("outbox relay: row {} for {} can never be encoded, moved to substrate.outbox_dead: {}", id, topic,
                     reason);
        {
          std::lock_guard lock(mutex);
          ++stats.dead;
        }
        if (dead_metric) dead_metric->increment();
        ++outcome.progressed;
      } else {
        warn_limited("encode:" + topic, "outbox relay: cannot encode rows for {} yet, holding them back: {}", topic,
                     value.error().message());
        hold(topic);
        skipped.insert(topic);
      }
      continue;
    }
    batch.push_back({id, topic, std::nullopt});
    const std::size_t slot = batch.size() - 1;
    auto enqueued =
        out.produce(topic, key, *value, {{outbox_id_header, std::to_string(id)}}, [&, slot](result<delivery> d) {
          std::lock_guard lock(done_mutex);
          batch[slot].done = std::move(d);
          ++done_count;
          if (done_count == expected) done_changed.notify_all();
        });
    if (!enqueued) {
      batch.pop_back();
      warn_limited("produce:" + topic, "outbox relay: producing to {} failed, holding its rows back: {}", topic,
                   enqueued.error().message());
      hold(topic);
      skipped.insert(topic);
      outcome.delivery_failed = true;
    }
  }
  // Every enqueued record gets its callback (acknowledged, failed after the delivery timeout, or
  // failed when the producer closes), so this wait ends.
  {
    std::unique_lock lock(done_mutex);
    expected = batch.size();
    done_changed.wait(lock, [&] { return done_count == expected; });
  }
  std::vector<std::int64_t> acknowledged;
  for (const auto& s : batch) {
    if (*s.done) {
      acknowledged.push_back(s.id);
    } else {
      outcome.delivery_failed = true;
      if (!held.contains(s.topic)) {
        warn_limited("deliver:" + s.topic, "outbox relay: delivery to {} failed, retrying after a recovery scan: {}",
                     s.topic, s.done->error().message());
      }
      hold(s.topic);
    }
  }
  std::int64_t last_id = 0;
  for (int row = 0; row < rows->rows(); ++row) last_id = std::max(last_id, parse_id(rows->value(row, 0)).value_or(0));
  const bool all_done =
      held.empty() && !outcome.delivery_failed && outcome.progressed + acknowledged.size() == outcome.rows;
  if (auto finished = finish_round(conn, outcome.rows, last_id, all_done, acknowledged); !finished) {
    return tl::unexpected(finished.error());
  }
  if (!acknowledged.empty()) {
    {
      std::lock_guard lock(mutex);
      stats.relayed += acknowledged.size();
    }
    if (relayed_metric) relayed_metric->increment(acknowledged.size());
    outcome.progressed += acknowledged.size();
  }
  return outcome;
}

result<void> outbox_relay::impl::finish_round(db::connection& conn, std::size_t rows_read, std::int64_t last_id,
                                              bool all_done, const std::vector<std::int64_t>& acknowledged) {
  // The round read every visible row above where it started (up to the last one it read when it
  // was full) and relayed all of them, unless some failed or a topic is held back (all_done).
  all_done = all_done && ids_in_order;
  if (!all_done) candidate.reset();
  if (all_done && candidate && candidate->settled &&
      (rows_read < static_cast<std::size_t>(options.batch_size) || last_id >= candidate->id)) {
    floor_id = candidate->id;
    candidate.reset();
    std::lock_guard lock(mutex);
    stats.floor_id = floor_id;
  }
  // How far this round knows every visible row relayed: to its last row, and when it read all the
  // visible rows above where it started, also to what earlier rounds relayed.
  const std::int64_t reach =
      rows_read < static_cast<std::size_t>(options.batch_size) ? std::max(last_id, highest_done) : last_id;
  const bool check_writers = all_done && (candidate ? !candidate->settled : reach > floor_id);
  std::vector<db::connection::pipelined> statements;
  if (!acknowledged.empty()) statements.push_back({delete_sql, {id_array(acknowledged)}, true});
  if (check_writers) statements.push_back({writers_sql, {}, true});
  if (statements.empty()) return {};
  auto finished = run_statements(conn, statements);
  if (!finished) return tl::unexpected(finished.error());
  if (all_done) highest_done = std::max(highest_done, last_id);
  if (!check_writers) return {};
  auto writers = parse_text_array(finished->back().value(0, 0));
  if (!candidate) {
    // A row below `reach` that this round did not see was written by a transaction that drew its
    // id before this round's read (ids come in time order), so it held the outbox's write lock
    // then and holds it now unless it has ended already.
    candidate = floor_candidate{reach, std::move(writers), false};
  } else {
    candidate->settled = std::none_of(candidate->writers.begin(), candidate->writers.end(),
                                      [&](const std::string& w) { return writers.contains(w); });
  }
  return {};
}

outbox_relay::outbox_relay(outbox_relay_options options, avro_serializer& serializer, producer& producer,
                           kafka_connection connection, core::metrics_registry* metrics)
    : impl_(std::make_unique<impl>(std::move(options), serializer, producer, std::move(connection))) {
  if (metrics) {
    impl_->relayed_metric =
        &metrics->add_counter("substrate_outbox_relayed_total", "Outbox rows produced, acknowledged and deleted")
             .labels({});
    impl_->recovered_metric = &metrics
                                   ->add_counter("substrate_outbox_recovered_total",
                                                 "Outbox rows found already on their topic by a recovery scan")
                                   .labels({});
    impl_->dead_metric = &metrics
                              ->add_counter("substrate_outbox_dead_total",
                                            "Outbox rows that can never be encoded, moved to "
                                            "substrate.outbox_dead")
                              .labels({});
    impl_->failed_metric =
        &metrics->add_counter("substrate_outbox_failed_rounds_total", "Relay rounds that failed and were retried")
             .labels({});
    impl_->active_metric =
        &metrics->add_gauge("substrate_outbox_active", "1 while this process holds the database's relay lock")
             .labels({});
  }
}

outbox_relay::~outbox_relay() {
  stop();
}

void outbox_relay::start() {
  impl_->thread = std::thread([self = impl_.get()] { self->run(); });
}

void outbox_relay::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

outbox_relay_stats outbox_relay::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace substrate::bus
