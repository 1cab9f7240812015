#pragma once
// The transactional outbox relay (docs/decisions/0003-outbox-relay.md): rows of substrate.outbox,
// written by any service in the same transaction as the change they report, are encoded with
// their topic's schema, produced with acks=all and a `substrate-outbox-id` header, and deleted
// once the broker acknowledged them. Each row reaches its topic exactly once, across kill -9.
//
// - One active relay per database: the relay holds a session advisory lock on its own
//   connection; a second instance waits (retrying every lock_retry_ms) and takes over when the
//   first one's session ends. Reads and deletes go over that same connection, so a relay whose
//   session died (and lost the lock) fails its next statement before it produces anything more.
// - Recovery, before relaying after taking the lock and after any failed round: for each topic
//   with pending rows, the tail of every partition is scanned backwards for the header; rows
//   found there were delivered before a crash and are deleted rather than produced again. The
//   scan of a partition stops at the first header below the topic's smallest pending id
//   (the relay produces a topic's rows in id order and the idempotent producer keeps that order
//   per partition) or at a record older than the oldest pending row by more than
//   `clock_skew_ms` (records without the header: other producers on the same topic).
// - New rows are found by polling every poll_interval_ms (no trigger: the table stays exactly
//   the shared contract, and external databases need nothing else), at once again while full
//   batches come back. A round reads the rows above a floor id below which every row is known
//   relayed, so it does not walk the index entries of the rows deleted before (dead until
//   vacuum, and for as long as any snapshot older than their delete lives). The floor moves up to
//   a round's last id once every transaction that held a write lock on the outbox after that
//   round read has ended, and a round after that read everything up to it: a row committed late
//   with a smaller id was written by such a transaction (docs/decisions/0003-outbox-relay.md,
//   "The floor"). Every full_scan_interval_ms a round reads from the start anyway.
// - A row that can never be encoded (JSON that does not fit the schema, a topic without any
//   schema) moves to substrate.outbox_dead with the reason; a topic whose rows fail for a
//   passing reason (registry or broker down, unknown topic) is held back alone (its order is
//   kept) for retry_backoff_ms while the other topics go on.
//
// Threading: the relay runs on its own thread; start()/stop() from the owner's thread.
// Lifecycle: construct, start() (returns at once; the thread connects, waits for the lock,
// relays), stop() (finishes the round in flight, waits for its acknowledgements up to the
// producer's delivery timeout, closes the connection, which releases the lock).

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/avro_serializer.h"
#include "bus/kafka_config.h"
#include "bus/producer.h"
#include "core/metrics.h"

namespace substrate::bus {

inline constexpr const char* outbox_id_header = "substrate-outbox-id";

struct outbox_relay_options {
  std::string conninfo;  // libpq keyword/value string or postgresql:// URL
  std::int64_t connect_timeout_ms = 5'000;
  std::int64_t batch_size = 500;
  std::int64_t poll_interval_ms = 50;
  std::int64_t lock_retry_ms = 1'000;
  std::int64_t retry_backoff_ms = 1'000;
  std::int64_t kafka_timeout_ms = 10'000;      // metadata and each read of the recovery scan
  std::int64_t scan_chunk_records = 500;       // records read per step of the backward scan
  std::int64_t clock_skew_ms = 300'000;        // see the recovery scan above
  std::int64_t full_scan_interval_ms = 5'000;  // a round from the table's start (see the floor above)
};

struct outbox_relay_stats {
  std::uint64_t relayed = 0;    // rows produced, acknowledged and deleted
  std::uint64_t recovered = 0;  // rows found already on their topic by a recovery scan
  std::uint64_t dead = 0;       // rows moved to substrate.outbox_dead
  std::uint64_t rounds_failed = 0;
  std::int64_t floor_id = 0;  // rounds read ids above it (0: from the start)
  bool active = false;        // holds the database's relay lock
};

class outbox_relay {
public:
  // `serializer` and `producer` must outlive the relay; `reader` settings come from `connection`.
  // `metrics` (optional) gets substrate_outbox_* families.
  outbox_relay(outbox_relay_options options, avro_serializer& serializer, producer& producer,
               kafka_connection connection, core::metrics_registry* metrics = nullptr);
  ~outbox_relay();
  outbox_relay(const outbox_relay&) = delete;
  outbox_relay& operator=(const outbox_relay&) = delete;

  void start();
  void stop();
  [[nodiscard]] outbox_relay_stats stats() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::bus
