#pragma once
// A stream processor: a named member of a Kafka consumer group (librdkafka) with one handler
// per input topic, effectively-once (see README.md, "How a record is processed").
//
// For each poll the runtime groups the records by partition and runs each partition's records in
// ONE PostgreSQL transaction that
//   1. locks the partition's row in substrate.stream_offsets and skips records below its
//      next_offset (already processed: a redelivery changes nothing),
//   2. runs the handler of each record, which applies database effects and writes output records
//      as rows of substrate.outbox (the bus relay produces them exactly once) through `effects`;
//      rows added with effects::insert/emit are coalesced: sent for the whole batch by COPY or
//      multi-row INSERTs (README "Coalescing"),
//   3. sends the coalesced rows and advances next_offset past the batch,
// and commits; only then is the offset committed to Kafka. A handler failure that is permanent
// (failure_kind::permanent: decoding, validation, a constraint violation) rolls the transaction
// back, the record goes to the dead-letter topic (value and key as read, with error headers) and
// the batch is run again without it, so the partition moves on. A permanent failure of the
// coalesced rows (the record is unknown) runs the batch again record by record to find it. Transient failures (database
// unreachable, serialization failure, deadlock, registry unreachable) roll back and retry the
// whole batch with exponential backoff, without committing anything.
//
// Durable timers: a handler calls effects::schedule/cancel inside its transaction; the timer
// loop claims due timers (FOR UPDATE SKIP LOCKED), deletes each row and runs the timer handler in
// one transaction, so a timer fires exactly once and survives restarts.
//
// Pipelining: the consume thread polls, decodes and (for a definition whose handlers only add
// rows, processor_definition::rows_only) runs the handlers of the next poll ahead of its
// transaction, while the database thread runs the previous poll's transactions. What a handler
// run ahead adds is only data: the transaction still decides, under the offsets row's lock,
// which records it applies (README "Pipelining").
//
// Threading: start() creates three threads (the consume thread, the database thread with its own
// connection, and the timer loop with its own); record handlers run on the consume thread (ahead)
// or the database thread, timer handlers on the timer loop, one record at a time per thread.
// stop() is idempotent, leaves the group (committing what is done) and joins. Not copyable or
// movable.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"
#include "db/connection.h"
#include "stream/decoder.h"
#include "stream/probe.h"

namespace substrate::stream {

enum class failure_kind : std::uint8_t { permanent, transient };

// How the runtime treats an error: stream::errc::unavailable, db connection failures and the
// SQLSTATEs of serialization failure (40001), deadlock (40P01), connection errors (08xxx),
// operator intervention (57xxx), insufficient resources (53xxx), system errors (58xxx) and a
// schema the deployment lacks (42P01 undefined table, 42703 column, 42883 function, 3F000 schema,
// 42501 privilege) are transient; everything else is permanent for the record.
[[nodiscard]] failure_kind classify(const error& e, const db::connection* conn);

struct input_record {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;
  std::span<const std::uint8_t> value;
  // The decoded value as JSON text ("" when the processor does not decode).
  std::string_view json;
};

struct timer {
  std::string key;
  std::string payload;  // JSON text
  std::int64_t fire_at_ms = 0;
};

// One row of an INSERT, for effects::insert: `into` is the table and its columns, `values` one
// row whose parameters are $1..$n (no other `$` in it), e.g.
//   {"public.user_notifications (user_id, event_type)", "($1, $2)"}.
// The runtime may apply the rows of the same statement of all records of a batch as one
// multi-row INSERT.
struct row_insert {
  std::string into;
  std::string values;
};

// The rows of effects::insert not yet sent, while the runtime coalesces a batch (internal).
struct deferred_rows;

// How a batch's rows go to one COPY target (internal): COPY's binary format when every column is
// text, varchar, json or jsonb, whose binary forms are their text (jsonb after a version byte).
struct copy_format {
  bool binary = false;
  std::vector<bool> jsonb;  // per column
  std::string table;        // as the target names it
  std::string columns;      // text[] literal of the column names
  std::string types;        // oid[] literal of the column types the format was chosen for
};

// What a handler may do, all inside the current transaction.
//
// Rows added with insert() (and emit()) may be deferred: while a batch is coalesced they are sent
// together, grouped by statement in the order each statement first appeared, after the batch's
// last handler or before the next exec()/schedule()/cancel(), whichever comes first. A handler that
// needs to read its own rows back uses exec(), which sends the deferred rows first.
//
// A handler of a rows_only definition may run ahead of its transaction, with effects that have no
// connection: insert() and emit() add rows as usual, exec(), flush(), schedule() and cancel()
// return errc::needs_transaction (the runtime then runs the handler again inside the
// transaction), and db() must not be called.
class effects {
public:
  effects(db::connection& conn, const std::string& processor, deferred_rows* deferred = nullptr)
      : conn_(&conn), processor_(processor), deferred_(deferred) {}
  // Ahead of the transaction (see above): rows go to `deferred`.
  effects(const std::string& processor, deferred_rows& deferred) : processor_(processor), deferred_(&deferred) {}

  // The connection itself: it does not send deferred rows first (call flush()). Not ahead of the
  // transaction (a rows_only handler that calls it is a bug: the process aborts).
  [[nodiscard]] db::connection& db();
  // Runs one statement now (after the deferred rows).
  [[nodiscard]] result<db::query_result> exec(const std::string& sql,
                                              const std::vector<std::optional<std::string>>& params);
  // Inserts one row: now, or deferred while the runtime coalesces the batch. A failure of a
  // deferred row is reported for the batch; the runtime then runs it again record by record.
  [[nodiscard]] result<void> insert(const row_insert& statement, std::vector<std::optional<std::string>> params);
  // Sends the deferred rows now.
  [[nodiscard]] result<void> flush();
  // An output record: a row of substrate.outbox (payload: plain JSON of the record for the topic's
  // schema, contracts "Outbox"); the relay produces it after the commit.
  [[nodiscard]] result<void> emit(const std::string& topic, const std::optional<std::string>& key,
                                  const std::string& payload_json);
  // Creates or replaces the processor's timer `key`.
  [[nodiscard]] result<void> schedule(const std::string& key, std::chrono::system_clock::time_point fire_at,
                                      const std::string& payload_json = "{}");
  // Removes the timer `key` if it exists (not yet fired).
  [[nodiscard]] result<void> cancel(const std::string& key);

  [[nodiscard]] const std::string& processor() const { return processor_; }
  [[nodiscard]] std::uint64_t emitted() const { return emitted_; }
  // Whether this handler sent anything to the database (else its failure needs no rollback).
  [[nodiscard]] bool sent() const { return sent_; }

private:
  db::connection* conn_ = nullptr;  // null ahead of the transaction
  const std::string& processor_;
  deferred_rows* deferred_;
  std::uint64_t emitted_ = 0;
  bool sent_ = false;
};

using record_handler = std::function<result<void>(effects&, const input_record&)>;
using timer_handler = std::function<result<void>(effects&, const timer&)>;

struct processor_definition {
  std::string name;      // key of its offsets and timers, metrics label; stable across versions
  std::string group_id;  // Kafka consumer group (contracts.md 0.6 where it names one)
  std::map<std::string, record_handler> handlers;  // by input topic
  timer_handler on_timer;                          // optional
  bool decode = true;                              // decode values to JSON before the handler
  // The record handlers only call effects::insert and emit (no exec, flush, schedule, cancel or
  // db): the runtime may run them ahead of their transaction, while the previous one commits.
  bool rows_only = false;
};

struct runtime_options {
  std::string bootstrap;
  // Extra librdkafka properties for consumer and dead-letter producer (security.protocol, sasl.*).
  std::map<std::string, std::string> kafka_properties;
  // Extra properties of the consumer only (session.timeout.ms, max.poll.interval.ms ...).
  std::map<std::string, std::string> consumer_properties;
  std::string conninfo;
  int connect_timeout_ms = 5000;
  decoder decode;  // required when a definition decodes
  std::size_t batch_records_max = 500;
  // Apply the rows of effects::insert of a partition's batch as multi-row INSERTs (see README,
  // "Coalescing"); false sends each row when its handler adds it.
  bool coalesce_inserts = true;
  int poll_timeout_ms = 100;
  int retry_backoff_initial_ms = 100;
  int retry_backoff_max_ms = 5000;
  int timer_poll_interval_ms = 250;
  std::size_t timer_batch_max = 100;
  // The dead-letter topic of an input topic; default `<topic>.dlq`.
  std::function<std::string(std::string_view topic)> dead_letter_topic;
};

class processor {
public:
  processor(processor_definition definition, runtime_options options, probe& metrics);
  ~processor();
  processor(const processor&) = delete;
  processor& operator=(const processor&) = delete;

  // Throws std::runtime_error when the consumer or producer cannot be created (bad properties).
  void start();
  void stop();

  [[nodiscard]] const std::string& name() const { return definition_.name; }
  // Partitions currently assigned to this member ("topic/partition"), for tests and status.
  [[nodiscard]] std::vector<std::string> assignment() const;

private:
  struct kafka;
  struct pending;
  struct partition_batch;
  struct stage;
  void consume_loop();
  void database_loop();
  void timer_loop();
  bool ensure_connection(std::optional<db::connection>& conn);
  bool backoff(int& delay_ms);
  // Consume thread: decodes a partition's records and runs rows_only handlers ahead.
  void prepare(partition_batch& batch);
  // Database thread: the transactions of one poll's partitions, then the Kafka commit.
  void apply(std::vector<partition_batch>& batches);
  result<void> process_partition(partition_batch& batch);
  // Consume thread (rebalance callbacks): waits until the database thread has nothing in hand.
  void drain();
  void on_assign(const std::vector<std::pair<std::string, std::int32_t>>& partitions,
                 std::vector<std::int64_t>& offsets);
  result<int> fire_due_timers();

  processor_definition definition_;
  runtime_options options_;
  probe::children metrics_;
  std::unique_ptr<kafka> kafka_;
  std::unique_ptr<stage> stage_;
  // The database thread's connection; the consume thread uses it in rebalance callbacks, after
  // drain() (the database thread then waits for work and does not touch it).
  std::optional<db::connection> conn_;
  bool copy_refused_ = false;  // database thread: COPY failed with 0A000, coalesce into INSERTs
  // Database thread: per COPY target, whether its rows go in COPY's binary format (the column
  // types, read once per connection; forgotten on a new connection and when a batch fails).
  std::map<std::string, copy_format> copy_formats_;
  bool ahead_refused_ = false;  // consume thread: a rows_only handler needed the transaction
  std::optional<db::connection> timer_conn_;
  std::atomic<bool> running_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::thread consumer_thread_;
  std::thread database_thread_;  // started and joined by the consume thread
  std::thread timer_thread_;
  mutable std::mutex assignment_mutex_;
  std::vector<std::string> assignment_;
};

}  // namespace substrate::stream
