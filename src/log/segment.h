#pragma once
// One segment of a partition: `<base>.log` holding whole batches back to back, its sparse offset
// index `<base>.index` and its time index `<base>.timeindex` (docs/formats/log.md). The log
// file of the active segment is reserved ahead of the writes (zeros written, see file::write_zeros), a step at a time
// up to the segment size; size_bytes() is its logical end.
//
// Ownership: owned by a `partition`, used by its owner thread only. Blocking file I/O.
// Lifecycle: create() or open() (which recovers), append() while active, seal() when the
// partition rolls to a new segment, remove() when retention deletes it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "log/file.h"
#include "log/record_batch.h"

namespace substrate::log {

// Offset index entry: a batch whose base offset is base + relative_offset starts at `position`.
struct index_entry {
  std::uint32_t relative_offset = 0;
  std::uint32_t position = 0;
  friend bool operator==(const index_entry&, const index_entry&) = default;
};
inline constexpr std::size_t index_entry_bytes = 8;

// Time index entry: every batch up to and including the one whose base offset is
// base + relative_offset has maxTimestamp <= timestamp.
struct time_index_entry {
  std::int64_t timestamp = 0;
  std::uint32_t relative_offset = 0;
  friend bool operator==(const time_index_entry&, const time_index_entry&) = default;
};
inline constexpr std::size_t time_index_entry_bytes = 12;

// What a search by timestamp found: the record's offset and its own timestamp.
struct timestamp_match {
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  friend bool operator==(const timestamp_match&, const timestamp_match&) = default;
};

struct segment_options {
  // At most this many bytes are reserved for the active segment's log file (0: none).
  std::uint64_t preallocate_bytes = 0;
  // An index entry at most every this many bytes of log.
  std::uint32_t index_interval_bytes = 4096;
  // The reservation grows this many bytes ahead of the writes. Reserving the whole segment up
  // front costs its full size per partition even when idle (128 MiB times every partition of a
  // fresh platform: gigabytes); reserving a step at a time keeps the benefit (an fdatasync
  // rarely has to commit a size change) for a few MiB per partition.
  std::uint64_t preallocate_step_bytes = 1 << 20;
};

enum class segment_role { active, closed };

// What open() found and repaired.
struct segment_recovery {
  std::uint64_t truncated_bytes = 0;  // beyond the last valid batch (torn write or zero tail)
  bool index_rewritten = false;       // an index file was missing, corrupt or stale
};

// Where scan() stopped: `position` is the first byte it did not consume. `invalid` is set when
// it stopped at bytes that are not a valid batch (rather than at the end or because asked to).
struct scan_stop {
  std::uint64_t position = 0;
  std::optional<error> invalid;
};

enum class scan_mode {
  headers,   // only headers are read; the callback gets the 61 header bytes
  verified,  // whole batches are read and their CRC checked
};

// Called per batch with its bytes, decoded header and file position; returns false to stop
// before consuming this batch.
using batch_visitor = std::function<bool(std::span<const std::byte>, const batch_header&, std::uint64_t)>;

// Walks the batches of the log file `log` from `position` (a batch boundary) up to its logical
// end `end`, as segment::scan does. Needs only the descriptor, so a blocking thread can scan a
// closed segment through a duplicated descriptor (compaction) without touching the segment.
[[nodiscard]] result<scan_stop> scan_batches(const file& log, std::uint64_t end, std::uint64_t position, scan_mode mode,
                                             const batch_visitor& visit);

class segment {
public:
  // "00000000000000000042.log" for base 42 and extension ".log".
  [[nodiscard]] static std::string file_name(std::int64_t base_offset, std::string_view extension);

  // Creates an empty active segment (replacing empty leftovers of the same name).
  [[nodiscard]] static result<std::unique_ptr<segment>> create(const std::filesystem::path& dir,
                                                               std::int64_t base_offset,
                                                               const segment_options& options);

  // Opens an existing segment and recovers it: batches are validated (header and CRC) from the
  // last index entry that points at a valid batch, or from the start; the file is truncated
  // after the last valid batch; index files are repaired from there. An active segment gets
  // its reservation again afterwards.
  [[nodiscard]] static result<std::unique_ptr<segment>> open(const std::filesystem::path& dir, std::int64_t base_offset,
                                                             const segment_options& options, segment_role role,
                                                             segment_recovery* report = nullptr);

  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment();

  [[nodiscard]] std::int64_t base_offset() const { return base_offset_; }
  // One past the last offset of the last batch; base_offset() when empty.
  [[nodiscard]] std::int64_t next_offset() const { return next_offset_; }
  [[nodiscard]] std::uint64_t size_bytes() const { return end_; }
  [[nodiscard]] bool empty() const { return end_ == 0; }
  // Largest batch maxTimestamp, -1 when empty.
  [[nodiscard]] std::int64_t max_timestamp() const { return max_timestamp_; }
  [[nodiscard]] bool is_active() const { return active_; }
  [[nodiscard]] const std::vector<index_entry>& index() const { return index_; }
  [[nodiscard]] const std::vector<time_index_entry>& time_index() const { return time_index_; }
  [[nodiscard]] std::filesystem::path log_path() const;
  [[nodiscard]] std::filesystem::path index_path() const;
  [[nodiscard]] std::filesystem::path time_index_path() const;

  // Appends one validated batch whose baseOffset was already assigned. On error nothing
  // changed: the next append writes at the same position.
  [[nodiscard]] result<void> append(std::span<const std::byte> batch, const batch_header& header);

  // The first batch whose last offset is >= `offset`, or nullopt when there is none here.
  struct located_batch {
    std::uint64_t position = 0;
    batch_header header;
  };
  [[nodiscard]] result<std::optional<located_batch>> find(std::int64_t offset) const;

  // Whole, CRC-checked batches starting at `position` (a batch boundary), as many as fit in
  // `max_bytes` but at least one. A batch that fails its check is an error.
  [[nodiscard]] result<std::vector<std::byte>> read(std::uint64_t position, std::size_t max_bytes) const;

  // The first record whose timestamp is >= `timestamp`, or nullopt. Exact within uncompressed
  // CreateTime batches (that record's offset and timestamp); otherwise the base offset of the
  // first batch whose maxTimestamp is, with that maxTimestamp (a LogAppendTime batch's records
  // all carry it; a compressed batch is not opened).
  [[nodiscard]] result<std::optional<timestamp_match>> offset_for_timestamp(std::int64_t timestamp) const;

  [[nodiscard]] result<scan_stop> scan(std::uint64_t position, scan_mode mode, const batch_visitor& visit) const;

  // Ends the active role: records the final time index entry, trims the preallocated tail and
  // closes the index files.
  [[nodiscard]] result<void> seal();

  // Fresh descriptors for the files an fdatasync must cover: the log, and while active the
  // index files. For sync_handle.
  [[nodiscard]] result<std::vector<file>> duplicate_files(bool with_indexes = true) const;

  // Deletes the files: the log first, so that a crash in between leaves only index files
  // without a log, which partition::open deletes.
  [[nodiscard]] result<void> remove();

  // After the segment's files were renamed into `dir` (compaction builds segments in a staging
  // directory): the paths now name that directory. The open descriptors stay valid.
  void relocate(std::filesystem::path dir) { dir_ = std::move(dir); }

private:
  segment(std::filesystem::path dir, std::int64_t base_offset, const segment_options& options)
      : dir_(std::move(dir)), base_offset_(base_offset), options_(options), next_offset_(base_offset) {}

  [[nodiscard]] result<void> recover(segment_role role, segment_recovery& report);
  [[nodiscard]] result<void> rewrite_index_files();
  [[nodiscard]] result<void> open_index_files();
  void maybe_index(std::uint64_t position, const batch_header& header);
  void write_index_entry(std::size_t slot);
  void write_time_index_entry(std::size_t slot);
  // Position of the last indexed batch whose base offset is <= offset.
  [[nodiscard]] std::uint64_t indexed_position(std::int64_t offset) const;

  // Grows the log file's reservation to cover writes up to `end` (see preallocate_step_bytes).
  [[nodiscard]] result<void> reserve_for(std::uint64_t end);

  std::filesystem::path dir_;
  std::int64_t base_offset_;
  segment_options options_;
  file log_;
  file index_file_;       // open while active
  file time_index_file_;  // open while active
  bool active_ = false;
  bool index_files_stale_ = false;  // an index write failed; seal() rewrites them whole
  std::uint64_t end_ = 0;
  std::uint64_t reserved_ = 0;  // bytes of the log file reserved so far (active segment)
  std::int64_t next_offset_;
  std::int64_t max_timestamp_ = -1;
  std::vector<index_entry> index_;
  std::vector<time_index_entry> time_index_;
};

}  // namespace substrate::log
