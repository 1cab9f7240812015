#pragma once
// A partition of the log: a directory `<root>/<topic>-<partition>/` of segments
// (docs/formats/log.md). Appends producer batches as they arrived, only rewriting baseOffset;
// reads whole batches back; recovers a torn tail at open; deletes old segments (retention) and
// compacts closed ones.
//
// Threading and ownership. A partition is owned by one thread, the shard its topic-partition
// hashes to, and every member function is called from that thread only, except
// sync_handle::run(). There are no locks inside. The owner creates it with open() at start-up
// (blocking: recovery reads the tail of every segment) and destroys it at shutdown or when the
// topic is deleted; pending sync handles may outlive it, they own their descriptors.
//
// Durability (group commit). append() writes into the page cache and returns at once: the batch
// is readable, not yet durable. Durability comes from a sync in three steps, so that the
// blocking fdatasync never runs on the shard:
//   1. owner thread:   auto handle = p.prepare_sync();  // dups the descriptors, snapshots next_offset
//   2. blocking pool:  auto done = handle->run();        // fdatasync of those descriptors
//   3. owner thread:   p.complete_sync(done);           // durable_offset() advances
// One sync covers every batch appended before prepare_sync(), however many: the broker keeps
// appending while a sync runs and answers the acks=all produces whose last offset is below
// durable_offset() when it completes (the batches that arrived meanwhile are covered by the
// next one). Several syncs may run at once and complete in any order: each covers what was
// appended before its prepare_sync(), and complete_sync() only ever advances durable_offset().
// flush_policy says when the broker starts a sync: after every append (`always`, still grouped
// by the in-flight rule), every flush_interval_ms (`interval_ms`), or never (the OS writes back;
// acks do not wait). sync() does the three steps inline, for tests and start-up code.
//
// Offsets are i64 Kafka offsets; timestamps and `now_ms` are milliseconds since the epoch.
// Time is a parameter (`now_ms`), never read from a clock here, so tests control it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/result.h"
#include "log/errc.h"
#include "log/file.h"
#include "log/segment.h"

namespace substrate::log {

// Kafka's cleanup.policy. `delete_` is Kafka's `delete` (the underscore avoids the keyword).
enum class cleanup_policy { delete_, compact };

// When the broker syncs (see the class comment); the partition only carries it.
enum class flush_policy { always, interval_ms, never };

// Per-topic settings, with Kafka's names and defaults unless noted.
struct partition_config {
  // segment.bytes: roll when the next batch would not fit. Also the preallocation size.
  std::int64_t segment_bytes = 128 << 20;
  // segment.ms: roll a segment this long after its first append (7 days). The clock is the
  // `now_ms` of append(); after a restart it starts again at open() for a non-empty segment.
  std::int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  // index.interval.bytes: one offset and time index entry per this many bytes of log.
  std::int64_t index_interval_bytes = 4096;
  // retention.bytes: delete the oldest segments while the rest are at least this large (-1: off).
  std::int64_t retention_bytes = -1;
  // retention.ms: delete segments whose newest batch is older than this (-1: off; 7 days).
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  cleanup_policy cleanup = cleanup_policy::delete_;
  // delete.retention.ms: how long compaction keeps a tombstone (a null value) that is its key's
  // latest record, counted from the tombstone's timestamp, so that consumers see the delete (1 day).
  std::int64_t delete_retention_ms = 24LL * 3600 * 1000;
  // min.cleanable.dirty.ratio: compaction is due when the closed segments written since the last
  // compaction make up at least this share of the closed segments' bytes.
  double min_cleanable_dirty_ratio = 0.5;
  // Substrate acknowledges nothing it could lose: `always` by default (Kafka relies on replicas).
  flush_policy flush = flush_policy::always;
  std::int64_t flush_interval_ms = 1000;
  // max.message.bytes: the largest batch accepted.
  std::int64_t batch_bytes_max = 1048588;
};

// Checks the bounds of every field (segment_bytes fits the 32-bit index positions, ...).
[[nodiscard]] result<void> validate(const partition_config& config);

struct append_result {
  std::int64_t base_offset = 0;
  std::int64_t last_offset = 0;
};

struct retention_result {
  std::size_t segments_deleted = 0;
  std::uint64_t bytes_deleted = 0;
};

struct compaction_result {
  std::size_t segments_rewritten = 0;
  std::size_t segments_deleted = 0;
  std::uint64_t records_removed = 0;
  std::uint64_t bytes_before = 0;
  std::uint64_t bytes_after = 0;
};

struct open_report {
  std::uint64_t truncated_bytes = 0;  // dropped from segment tails (torn writes, zero tails)
  std::size_t indexes_rewritten = 0;
  std::size_t temporary_files_deleted = 0;  // orphan index files and old `.cleaned` files
  bool compaction_completed = false;        // an interrupted swap was finished (rolled forward)
  bool compaction_rolled_back = false;      // an interrupted, uncommitted compaction was discarded
};

// What a finished sync covered: every offset below covered_offset is on stable storage.
struct sync_done {
  std::int64_t covered_offset = 0;
  std::uint64_t sequence = 0;
};

// The descriptors a sync must fdatasync, duplicated for its own use, and the offset they
// cover. Made on the owner thread by partition::prepare_sync(); run() may be called on any
// thread (it touches nothing of the partition). Move-only; closes its descriptors.
class sync_handle {
public:
  sync_handle(sync_handle&&) noexcept = default;
  sync_handle& operator=(sync_handle&&) noexcept = default;

  // Blocking: fdatasync of every file (the segments written since the last completed sync,
  // their indexes, and the directory when a segment was created).
  [[nodiscard]] result<sync_done> run();
  [[nodiscard]] std::int64_t covered_offset() const { return covered_offset_; }
  [[nodiscard]] std::size_t file_count() const { return files_.size(); }

private:
  friend class partition;
  sync_handle() = default;
  std::vector<file> files_;
  std::int64_t covered_offset_ = 0;
  std::uint64_t sequence_ = 0;
};

// One compaction of a partition's closed segments, in three steps so that the long work never
// runs on the owner shard (docs/formats/log.md, "Compaction"):
//   1. owner thread:   auto job = p.plan_compaction(now_ms);  // duplicates the closed segments' descriptors
//   2. blocking pool:  auto done = job->run();                 // builds cleaned segments in <dir>/compaction/
//   3. owner thread:   p.swap_compaction(*job);                // renames them over the old ones
//   4. blocking pool:  job->finish();                          // makes the renames durable, removes staging
// run() ends with the commit point (the `ready` marker): a crash before it rolls the compaction
// back at the next open(), a crash after it rolls it forward. Between plan and swap the owner
// keeps appending and serving reads from the old segments; swap() is quick (renames only) and
// atomic for the owner's readers. At most one job per partition at a time (the caller's rule).
//
// Ownership: move-only. run() and finish() touch nothing of the partition (they own duplicated
// descriptors and the staging directory) and may run on any thread; swap on the owner.
class compaction_job {
public:
  compaction_job(compaction_job&&) noexcept;
  compaction_job& operator=(compaction_job&&) noexcept;
  ~compaction_job();

  // Blocking: reads the planned segments (CRC-checked), writes each segment that loses records
  // into the staging directory with its indexes, fsyncs them, and writes the `ready` marker.
  [[nodiscard]] result<compaction_result> run();
  // Blocking, after swap_compaction() or instead of it (abandon): fsyncs the partition
  // directory, then removes the staging directory.
  [[nodiscard]] result<void> finish();

  [[nodiscard]] std::size_t planned_segments() const { return sources_.size(); }
  // The marker is durable: from here on a crash completes this compaction.
  [[nodiscard]] bool committed() const { return committed_; }

  // For crash tests: called before every file-system step with the step's ordinal (0, 1, ...);
  // returning true stops the job there as a crash would: nothing more is written or removed,
  // and every later step of this job fails. The caller then drops the partition and reopens.
  std::function<bool(std::size_t step)> crash_point;
  // Set from any thread to make run() stop early (shutdown, topic deletion).
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

private:
  friend class partition;
  compaction_job() = default;
  [[nodiscard]] result<void> step();

  struct source {
    std::int64_t base_offset = 0;
    std::uint64_t end = 0;
    file log;
  };
  struct output {
    std::int64_t base_offset = 0;
    std::unique_ptr<segment> cleaned;  // null: the segment lost every record and goes
  };
  std::filesystem::path dir_;
  segment_options options_;
  std::int64_t now_ms_ = 0;
  std::int64_t delete_retention_ms_ = 0;
  std::vector<source> sources_;
  std::vector<output> outputs_;
  std::int64_t cleaned_through_ = 0;  // next offset after the last planned segment
  std::optional<std::int64_t> tombstone_expiry_ms_;
  std::uint64_t records_removed_ = 0;
  std::size_t steps_ = 0;
  bool ran_ = false;
  bool completed_ = false;  // run() returned successfully
  bool committed_ = false;
  bool crashed_ = false;
};

class partition {
public:
  // Opens (creating it if needed) the partition in `dir` and recovers it: leftover compaction
  // files and orphan index files are deleted, every segment's tail is validated and truncated
  // after its last valid batch, indexes are repaired, and the recovered data is synced.
  [[nodiscard]] static result<std::unique_ptr<partition>> open(const std::filesystem::path& dir,
                                                               const partition_config& config, std::int64_t now_ms,
                                                               open_report* report = nullptr);

  partition(const partition&) = delete;
  partition& operator=(const partition&) = delete;
  ~partition();

  // Validates a producer's batch (sizes, magic, CRC, counts), assigns it the next offsets by
  // rewriting baseOffset in `batch`, rolls the active segment when it is full or old, and
  // appends. The batch is readable at once and durable after the next sync.
  [[nodiscard]] result<append_result> append(std::span<std::byte> batch, std::int64_t now_ms);

  // Whole batches from the one containing `offset` (which may start before it), as many as fit
  // in `max_bytes` but at least one, from one segment. Empty at next_offset();
  // offset_out_of_range below log_start_offset() or above next_offset(). Every batch's CRC is
  // checked; a corrupt batch is an error, never served.
  [[nodiscard]] result<std::vector<std::byte>> read(std::int64_t offset, std::size_t max_bytes) const;

  // Kafka ListOffsets by time: the first record whose timestamp is >= `timestamp` (its offset
  // and timestamp; see segment::offset_for_timestamp), or nullopt when every record is older.
  [[nodiscard]] result<std::optional<timestamp_match>> offset_for_timestamp(std::int64_t timestamp) const;

  [[nodiscard]] std::int64_t log_start_offset() const { return log_start_offset_; }
  // The offset the next batch gets; the high watermark on a single node.
  [[nodiscard]] std::int64_t next_offset() const { return next_offset_; }
  // Every offset below this one is on stable storage.
  [[nodiscard]] std::int64_t durable_offset() const { return durable_offset_; }
  [[nodiscard]] const partition_config& config() const { return config_; }
  [[nodiscard]] const std::filesystem::path& directory() const { return dir_; }
  [[nodiscard]] std::size_t segment_count() const { return segments_.size(); }
  [[nodiscard]] const segment& segment_at(std::size_t i) const { return *segments_.at(i); }
  [[nodiscard]] std::uint64_t size_bytes() const;

  // Visits the headers of the batches at the tail of the log, in offset order: those of the
  // newest segments that together hold at least `bytes_min` bytes (whole segments; all of them
  // if the log is smaller). Blocking; for start-up work such as rebuilding the idempotent
  // producers' sequence state from the batch headers. The visitor gets the 61 header bytes.
  [[nodiscard]] result<void> visit_tail(std::uint64_t bytes_min, const batch_visitor& visit) const;

  // What a sync covers of the active segment. Its log file always; its index files only with
  // `with_indexes`: recovery checks and repairs an active segment's indexes from its log, so a
  // group commit need not pay two more fdatasyncs (each one a journal commit, as the index files
  // grow) for them; syncing them now and then keeps the rescan after a crash short. Rolled
  // segments are always synced whole, so closed segments' indexes are durable.
  enum class sync_scope : std::uint8_t { with_indexes, log_only };

  // The three steps of a sync (see the class comment).
  [[nodiscard]] result<sync_handle> prepare_sync(sync_scope scope = sync_scope::with_indexes);
  void complete_sync(const result<sync_done>& done);
  // All three inline, indexes included; returns the offset covered. Blocking.
  [[nodiscard]] result<std::int64_t> sync();

  // Deletes whole segments from the oldest, never the active one: while the remaining ones
  // hold at least retention_bytes, and those whose newest batch is more than retention_ms
  // before `now_ms`. Advances log_start_offset(). Does nothing for cleanup_policy::compact.
  [[nodiscard]] result<retention_result> enforce_retention(std::int64_t now_ms);

  // Compaction (docs/formats/log.md, "Compaction"): per key, only the record with the highest
  // offset survives, a latest-record tombstone until delete_retention_ms after its timestamp;
  // offsets never change. Only closed segments whose data is durable take part.
  //
  // Share of the closed segments' bytes written since the last compaction (1 after open()).
  [[nodiscard]] double dirty_ratio() const;
  // Whether a compaction is worth planning now: a compact-policy partition with closed segments
  // whose dirty ratio reached min_cleanable_dirty_ratio, or a kept tombstone whose
  // delete_retention_ms has passed.
  [[nodiscard]] bool compaction_due(std::int64_t now_ms) const;
  // Step 1 (see compaction_job); nullopt when there is no closed, durable segment.
  [[nodiscard]] result<std::optional<compaction_job>> plan_compaction(std::int64_t now_ms);
  // Step 3: replaces the planned segments by the cleaned ones. On error the partition must be
  // dropped and reopened (recovery finishes the swap); a job that did not commit changes nothing.
  [[nodiscard]] result<compaction_result> swap_compaction(compaction_job& job);
  // All steps inline. Blocking; for tests and tools.
  [[nodiscard]] result<compaction_result> compact(std::int64_t now_ms);

private:
  partition(std::filesystem::path dir, const partition_config& config);

  [[nodiscard]] segment_options options() const;
  [[nodiscard]] segment& active() { return *segments_.back(); }
  [[nodiscard]] const segment& active() const { return *segments_.back(); }
  [[nodiscard]] result<void> roll();
  [[nodiscard]] result<void> remove_front_segment();

  // Descriptors of files written since the last completed sync but no longer active (rolled
  // segments, the directory after a create), tagged with the sync sequence they wait for.
  struct pending_file {
    file handle;
    std::uint64_t sequence = 0;
  };

  std::filesystem::path dir_;
  partition_config config_;
  std::vector<std::unique_ptr<segment>> segments_;  // by base offset; the last one is active
  std::int64_t log_start_offset_ = 0;
  std::int64_t next_offset_ = 0;
  std::int64_t durable_offset_ = 0;
  // When the active segment received its first append (or was found non-empty at open).
  std::optional<std::int64_t> active_since_ms_;
  std::vector<pending_file> pending_files_;
  std::uint64_t sync_sequence_ = 0;
  // Compaction bookkeeping: everything below cleaned_through_ was compacted at least once (in
  // memory only: after open() the whole log counts as dirty), and the earliest time a kept
  // tombstone may go.
  std::int64_t cleaned_through_ = 0;
  std::optional<std::int64_t> tombstone_expiry_ms_;
  bool compaction_planned_ = false;
};

// `<dir>/compaction`: where compaction_job::run() builds the cleaned segments.
[[nodiscard]] std::filesystem::path compaction_staging_directory(const std::filesystem::path& partition_dir);

}  // namespace substrate::log
