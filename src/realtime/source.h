#pragma once
// The change source: PostgreSQL logical replication with the built-in `pgoutput` plugin from the
// publication `supabase_realtime`, decoded and handed to the hub transaction by transaction.
//
// Slot: one PERMANENT logical slot per instance (realtime.slot_name, default
// "substrate_realtime"). Permanent because a temporary slot disappears with its connection: a
// database restart or a dropped connection would lose every change committed until the new slot
// exists. The position is confirmed (standby status update) only after a transaction's changes
// have been handed to the hub, so after any reconnect PostgreSQL resends from the first change
// not yet delivered (at-least-once: a change delivered just before a crash may come twice).
// start() creates the slot synchronously, before the API listener accepts joins, so no change
// committed after SUBSCRIBED can be missed; a slot left by a crashed run is dropped first (its
// changes have no subscribers: sockets do not survive a restart). stop() drops the slot, so a
// stopped substrate does not make PostgreSQL retain WAL.
//
// Runs on its own thread with blocking libpq (never a shard). The RLS check of a batch of changes
// (the committed transactions read at once, at most batch_changes_max changes) is one query on a
// second, ordinary connection of this thread: substrate.realtime_visibility() (migrations/0010)
// evaluates all distinct (role, claims) of the subscribers of every change in one statement.
// Reconnects with exponential backoff (100 ms doubling to 5 s) after any failure.
//
// Also calls hub::expire about once a second (token expiry of channels), and about once a minute
// drops the slots of other instances that stayed inactive too long (source_options).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace substrate::db {
class connection;
}

namespace substrate::realtime {

class hub;

struct source_options {
  std::string conninfo;  // libpq keyword string or URL of a role with REPLICATION (the owner)
  std::string slot_name = "substrate_realtime";
  std::string publication = "supabase_realtime";
  int connect_timeout_ms = 5000;
  // Most committed changes delivered as one batch (realtime.batch_changes_max).
  std::size_t batch_changes_max = 1000;
  // Slots named `stale_slot_prefix`<anything> other than ours, in this database, inactive for
  // this long (as seen by this source: it checks about once a minute and counts from the first
  // check that found the slot inactive) are dropped: their instance is gone and PostgreSQL
  // would keep WAL for them forever. 0 or an empty prefix: never.
  std::string stale_slot_prefix;
  std::int64_t stale_slot_timeout_ms = 0;
};

class source {
public:
  source(source_options options, hub& h);
  ~source();
  source(const source&) = delete;
  source& operator=(const source&) = delete;

  // Creates the slot (throws std::runtime_error when the database refuses), then starts the thread.
  void start();
  // Stops the thread (confirming what was delivered) and drops the slot. Idempotent.
  void stop();

  // Transactions delivered since start (for tests and metrics).
  [[nodiscard]] std::uint64_t transactions() const { return transactions_.load(); }

private:
  void run();
  void sweep_stale_slots(db::connection& c);
  struct impl;
  source_options options_;
  hub& hub_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> transactions_{0};
  std::thread thread_;
  bool started_ = false;
  std::map<std::string, std::chrono::steady_clock::time_point> inactive_since_;  // source thread only
};

}  // namespace substrate::realtime
