#include "bus/outbox_relay.h"

#include <algorithm>
#include <charconv>
#include <chrono>
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
  auto rows = conn.exec(
      "select id, topic, key, payload::text from substrate.outbox where not (topic = any($1::text[])) order by id "
      "limit $2",
      {text_array(held_topics), std::to_string(options.batch_size)});
  if (!rows) return tl::unexpected(rows.error());
  round_outcome outcome;
  outcome.rows = static_cast<std::size_t>(rows->rows());
  if (outcome.rows == 0) return outcome;

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
          done_changed.notify_all();
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
    done_changed.wait(lock, [&] { return done_count == batch.size(); });
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
  if (!acknowledged.empty()) {
    auto deleted = conn.exec("delete from substrate.outbox where id = any($1::bigint[])", {id_array(acknowledged)});
    if (!deleted) return tl::unexpected(deleted.error());
    {
      std::lock_guard lock(mutex);
      stats.relayed += acknowledged.size();
    }
    if (relayed_metric) relayed_metric->increment(acknowledged.size());
    outcome.progressed += acknowledged.size();
  }
  return outcome;
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
