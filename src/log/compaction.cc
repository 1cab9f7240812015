// Compaction: compaction_job and the partition's plan / swap / recovery of it. The protocol is
// in docs/formats/log.md, "Compaction".

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "core/assert.h"
#include "log/logger.h"
#include "log/partition.h"
#include "log/records.h"

namespace substrate::log {
namespace {

constexpr const char* marker_name = "ready";
constexpr const char* marker_temporary_name = "ready.tmp";

// What pass 1 learned about a key over all planned segments.
struct key_state {
  std::int64_t latest_offset = -1;
  std::int64_t latest_timestamp = 0;
  bool latest_is_tombstone = false;
};

using key_map = std::unordered_map<std::string, key_state>;

// Batches that are compressed (we never decompress) or control batches are kept as they are.
bool compactable(const batch_header& h) {
  return !h.is_compressed() && !h.is_control();
}

error corrupt(const std::filesystem::path& path, const scan_stop& stop) {
  return error{errc::corrupt_batch,
               fmt::format("compaction of {} at {}: {}", path.string(), stop.position, stop.invalid->message())};
}

error filesystem_error(const char* operation, const std::filesystem::path& path, const std::error_code& ec) {
  return error{errc::io_error, fmt::format("{} {}: {}", operation, path.string(), ec.message())};
}

std::optional<std::int64_t> parse_offset(std::string_view text) {
  if (text.size() != 20 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto value = std::stoull(std::string(text));
  if (value > static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

const std::string_view segment_extensions[] = {".log", ".index", ".timeindex"};

// The marker: one line per planned segment that changed, "replace <base>" or "delete <base>".
struct marker_line {
  bool remove = false;
  std::int64_t base_offset = 0;
};

result<std::vector<marker_line>> read_marker(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(errc::io_error, fmt::format("open {}", path.string()));
  std::vector<marker_line> lines;
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    const auto verb = line.substr(0, space);
    const auto base =
        space == std::string::npos ? std::nullopt : parse_offset(std::string_view(line).substr(space + 1));
    if (!base || (verb != "replace" && verb != "delete")) {
      return make_error(errc::invalid_config, fmt::format("{}: malformed line '{}'", path.string(), line));
    }
    lines.push_back({verb == "delete", *base});
  }
  return lines;
}

}  // namespace

std::filesystem::path compaction_staging_directory(const std::filesystem::path& partition_dir) {
  return partition_dir / "compaction";
}

compaction_job::compaction_job(compaction_job&&) noexcept = default;
compaction_job& compaction_job::operator=(compaction_job&&) noexcept = default;
compaction_job::~compaction_job() = default;

result<void> compaction_job::step() {
  if (crashed_) return make_error(errc::io_error, "the job stopped at a simulated crash");
  if (crash_point && crash_point(steps_++)) {
    crashed_ = true;
    return make_error(errc::io_error, fmt::format("simulated crash at step {}", steps_ - 1));
  }
  return {};
}

result<compaction_result> compaction_job::run() {
  SUBSTRATE_ASSERT(!ran_, "a compaction job runs once");
  ran_ = true;
  compaction_result out;
  const auto staging = compaction_staging_directory(dir_);
  std::error_code ec;
  if (auto r = step(); !r) return tl::unexpected(r.error());
  std::filesystem::remove_all(staging, ec);
  if (ec) return tl::unexpected(filesystem_error("remove", staging, ec));
  std::filesystem::create_directory(staging, ec);
  if (ec) return tl::unexpected(filesystem_error("create", staging, ec));

  // Pass 1: the latest record of every key, and the last batch of every idempotent producer.
  key_map keys;
  std::unordered_map<std::int64_t, std::int64_t> last_batch_of_producer;  // producer id -> base offset
  for (const auto& s : sources_) {
    std::optional<error> failure;
    auto stop = scan_batches(s.log, s.end, 0, scan_mode::verified,
                             [&](std::span<const std::byte> batch, const batch_header& h, std::uint64_t) {
                               if (h.producer_id >= 0) last_batch_of_producer[h.producer_id] = h.base_offset;
                               if (!compactable(h)) return true;
                               auto records = decode_records(batch);
                               if (!records) {
                                 failure = records.error();
                                 return false;
                               }
                               for (const auto& r : *records) {
                                 if (!r.key) continue;
                                 auto& state = keys[std::string(*r.key)];
                                 state.latest_offset = h.base_offset + r.offset_delta;
                                 state.latest_timestamp = record_timestamp(h, r);
                                 state.latest_is_tombstone = !r.value.has_value();
                               }
                               return true;
                             });
    if (!stop) return tl::unexpected(stop.error());
    if (failure) return tl::unexpected(*failure);
    if (stop->invalid) return tl::unexpected(corrupt(s.log.path(), *stop));
    if (*cancelled) return make_error(errc::io_error, "compaction cancelled");
  }

  const std::int64_t horizon = now_ms_ - delete_retention_ms_;
  auto survives = [&](const record_view& r, std::int64_t offset) {
    if (!r.key) return true;  // nothing to deduplicate against
    const auto it = keys.find(std::string(*r.key));
    // Pass 1 read the same immutable bytes, so every key is known.
    SUBSTRATE_ASSERT(it != keys.end(), "key missing from the compaction map");
    const auto& state = it->second;
    if (offset != state.latest_offset) return false;
    if (!state.latest_is_tombstone) return true;
    // A tombstone stays delete_retention_ms after its timestamp, so that readers see the delete.
    if (state.latest_timestamp <= horizon) return false;
    const auto expiry = state.latest_timestamp + delete_retention_ms_;
    tombstone_expiry_ms_ = std::min(tombstone_expiry_ms_.value_or(expiry), expiry);
    return true;
  };

  // Pass 2: each segment into the staging directory; kept only when it lost records.
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const auto& s = sources_[i];
    if (auto r = step(); !r) return tl::unexpected(r.error());
    auto cleaned = segment::create(staging, s.base_offset, options_);
    if (!cleaned) return tl::unexpected(cleaned.error());
    bool changed = false;
    std::uint64_t removed = 0;
    std::optional<error> failure;
    auto append = [&](std::span<const std::byte> bytes, const batch_header& h) {
      if (auto r = (*cleaned)->append(bytes, h); !r) {
        failure = r.error();
        return false;
      }
      return true;
    };
    auto stop = scan_batches(s.log, s.end, 0, scan_mode::verified,
                             [&](std::span<const std::byte> batch, const batch_header& h, std::uint64_t) {
                               if (!compactable(h)) return append(batch, h);
                               auto records = decode_records(batch);
                               if (!records) {
                                 failure = records.error();
                                 return false;
                               }
                               std::vector<const record_view*> kept;
                               for (const auto& r : *records) {
                                 if (survives(r, h.base_offset + r.offset_delta)) kept.push_back(&r);
                               }
                               if (kept.size() == records->size()) return append(batch, h);
                               changed = true;
                               removed += records->size() - kept.size();
                               // The last batch of an idempotent producer stays, emptied if need be (as Kafka's cleaner
                               // does): its header carries the producer's epoch and last sequence, from which the
                               // broker rebuilds the sequence state after a restart.
                               const auto last = last_batch_of_producer.find(h.producer_id);
                               const bool keeps_producer_state =
                                   last != last_batch_of_producer.end() && last->second == h.base_offset;
                               if (kept.empty() && !keeps_producer_state) return true;
                               // The survivors keep their base offset, offset deltas, timestamps and lastOffsetDelta.
                               batch_builder builder;
                               builder.base_offset(h.base_offset)
                                   .partition_leader_epoch(h.partition_leader_epoch)
                                   .attributes(h.attributes)
                                   .producer(h.producer_id, h.producer_epoch, h.base_sequence)
                                   .base_timestamp(h.base_timestamp)
                                   .max_timestamp(h.max_timestamp)
                                   .last_offset_delta(h.last_offset_delta);
                               for (const record_view* r : kept) {
                                 builder.add(r->key, r->value, record_timestamp(h, *r), r->headers, r->offset_delta);
                               }
                               const auto rebuilt = builder.build();
                               auto header = validate_batch(rebuilt);
                               SUBSTRATE_ASSERT(header.has_value(), "a re-encoded batch is valid");
                               return append(rebuilt, *header);
                             });
    if (!stop) return tl::unexpected(stop.error());
    if (failure) return tl::unexpected(*failure);
    if (stop->invalid) return tl::unexpected(corrupt(s.log.path(), *stop));
    if (!changed) {
      if (auto r = (*cleaned)->remove(); !r) return tl::unexpected(r.error());
      continue;
    }
    out.bytes_before += s.end;
    out.records_removed += removed;
    if (auto r = (*cleaned)->seal(); !r) return tl::unexpected(r.error());
    // An emptied segment goes, except the first: its base offset is the log start offset,
    // which compaction does not move.
    if ((*cleaned)->empty() && i > 0) {
      if (auto r = (*cleaned)->remove(); !r) return tl::unexpected(r.error());
      outputs_.push_back({s.base_offset, nullptr});
      ++out.segments_deleted;
      continue;
    }
    for (const auto& path : {(*cleaned)->log_path(), (*cleaned)->index_path(), (*cleaned)->time_index_path()}) {
      auto f = file::open(path, open_mode::read_write);
      if (!f) return tl::unexpected(f.error());
      if (auto r = f->sync(); !r) return tl::unexpected(r.error());
    }
    out.bytes_after += (*cleaned)->size_bytes();
    ++out.segments_rewritten;
    outputs_.push_back({s.base_offset, std::move(*cleaned)});
    if (*cancelled) return make_error(errc::io_error, "compaction cancelled");
  }
  records_removed_ = out.records_removed;
  if (outputs_.empty()) {
    completed_ = true;
    return out;
  }

  // The commit point: the marker, written whole (temporary file, fsync, rename, fsync).
  std::string text;
  for (const auto& o : outputs_) {
    text += fmt::format("{} {:020d}\n", o.cleaned ? "replace" : "delete", o.base_offset);
  }
  if (auto r = step(); !r) return tl::unexpected(r.error());
  {
    auto f = file::open(staging / marker_temporary_name, open_mode::read_write_create);
    if (!f) return tl::unexpected(f.error());
    if (auto r = f->write_at(std::as_bytes(std::span(text)), 0); !r) return tl::unexpected(r.error());
    if (auto r = f->sync(); !r) return tl::unexpected(r.error());
  }
  std::filesystem::rename(staging / marker_temporary_name, staging / marker_name, ec);
  if (ec) return tl::unexpected(filesystem_error("rename", staging / marker_temporary_name, ec));
  if (auto r = sync_directory(staging); !r) return tl::unexpected(r.error());
  committed_ = true;
  completed_ = true;
  return out;
}

result<void> compaction_job::finish() {
  const auto staging = compaction_staging_directory(dir_);
  std::error_code ec;
  if (committed_) {
    // The renames must be durable before the marker goes.
    if (auto r = step(); !r) return r;
    if (auto r = sync_directory(dir_); !r) return r;
  }
  if (auto r = step(); !r) return r;
  std::filesystem::remove_all(staging, ec);
  if (ec) return tl::unexpected(filesystem_error("remove", staging, ec));
  if (auto r = step(); !r) return r;
  return sync_directory(dir_);
}

double partition::dirty_ratio() const {
  std::uint64_t total = 0;
  std::uint64_t dirty = 0;
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    total += segments_[i]->size_bytes();
    if (segments_[i]->next_offset() > cleaned_through_) dirty += segments_[i]->size_bytes();
  }
  return total == 0 ? 0.0 : static_cast<double>(dirty) / static_cast<double>(total);
}

bool partition::compaction_due(std::int64_t now_ms) const {
  if (config_.cleanup != cleanup_policy::compact || segments_.size() < 2 || compaction_planned_) return false;
  if (tombstone_expiry_ms_ && now_ms >= *tombstone_expiry_ms_) return true;
  return dirty_ratio() >= config_.min_cleanable_dirty_ratio && dirty_ratio() > 0;
}

result<std::optional<compaction_job>> partition::plan_compaction(std::int64_t now_ms) {
  SUBSTRATE_ASSERT(!compaction_planned_, "one compaction at a time per partition");
  compaction_job job;
  job.dir_ = dir_;
  job.options_ = segment_options{0, static_cast<std::uint32_t>(config_.index_interval_bytes)};
  job.now_ms_ = now_ms;
  job.delete_retention_ms_ = config_.delete_retention_ms;
  // Closed segments only, and only what is durable: a cleaned segment must never drop a value
  // whose replacement could still be lost in a crash.
  // (flush.policy never promises nothing: then everything appended counts.)
  const std::int64_t bound = config_.flush == flush_policy::never ? next_offset_ : durable_offset_;
  for (std::size_t i = 0; i + 1 < segments_.size() && segments_[i]->next_offset() <= bound; ++i) {
    auto files = segments_[i]->duplicate_files();
    if (!files) return tl::unexpected(files.error());
    SUBSTRATE_ASSERT(files->size() == 1, "a closed segment has only its log open");
    job.sources_.push_back({segments_[i]->base_offset(), segments_[i]->size_bytes(), std::move(files->front())});
    job.cleaned_through_ = segments_[i]->next_offset();
  }
  if (job.sources_.empty()) return std::optional<compaction_job>{};
  compaction_planned_ = true;
  return std::optional<compaction_job>(std::move(job));
}

result<compaction_result> partition::swap_compaction(compaction_job& job) {
  SUBSTRATE_ASSERT(compaction_planned_ && job.dir_ == dir_, "swap of a job planned elsewhere");
  compaction_planned_ = false;
  compaction_result out;
  if (job.crashed_) return make_error(errc::io_error, "the job stopped at a simulated crash");
  SUBSTRATE_ASSERT(job.ran_, "swap before run");
  if (!job.completed_) return make_error(errc::io_error, "the compaction did not complete");
  out.records_removed = job.records_removed_;
  const auto staging = compaction_staging_directory(dir_);
  std::error_code ec;
  for (auto& o : job.outputs_) {
    // Closed segments change only through compaction, one job at a time: the planned ones are
    // all still here.
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [&](const auto& s) { return s->base_offset() == o.base_offset; });
    SUBSTRATE_ASSERT(it != segments_.end() && it + 1 != segments_.end(), "planned segment {} is gone", o.base_offset);
    if (!o.cleaned) {
      if (auto r = job.step(); !r) return tl::unexpected(r.error());
      out.bytes_before += (*it)->size_bytes();
      if (auto r = (*it)->remove(); !r) return tl::unexpected(r.error());
      segments_.erase(it);
      ++out.segments_deleted;
      continue;
    }
    for (const auto extension : segment_extensions) {
      if (auto r = job.step(); !r) return tl::unexpected(r.error());
      const auto name = segment::file_name(o.base_offset, extension);
      std::filesystem::rename(staging / name, dir_ / name, ec);
      if (ec) return tl::unexpected(filesystem_error("rename", staging / name, ec));
    }
    out.bytes_before += (*it)->size_bytes();
    out.bytes_after += o.cleaned->size_bytes();
    o.cleaned->relocate(dir_);
    *it = std::move(o.cleaned);
    ++out.segments_rewritten;
  }
  cleaned_through_ = std::max(cleaned_through_, job.cleaned_through_);
  tombstone_expiry_ms_ = job.tombstone_expiry_ms_;
  if (!job.outputs_.empty()) {
    log_log.info("compaction swapped segments", {{"dir", dir_.string()},
                                                 {"segments_rewritten", out.segments_rewritten},
                                                 {"segments_deleted", out.segments_deleted},
                                                 {"bytes_before", out.bytes_before},
                                                 {"bytes_after", out.bytes_after}});
  }
  return out;
}

result<compaction_result> partition::compact(std::int64_t now_ms) {
  auto job = plan_compaction(now_ms);
  if (!job) return tl::unexpected(job.error());
  if (!*job) return compaction_result{};
  auto ran = (*job)->run();
  auto swapped = swap_compaction(**job);
  if (!swapped) {
    if (!(*job)->committed()) (void)(*job)->finish();  // discard the staging directory
    return tl::unexpected(ran ? swapped.error() : ran.error());
  }
  if (auto r = (*job)->finish(); !r) return tl::unexpected(r.error());
  return swapped;
}

// Called by partition::open() before it lists the segments.
result<void> recover_compaction(const std::filesystem::path& dir, open_report& report) {
  const auto staging = compaction_staging_directory(dir);
  std::error_code ec;
  if (!std::filesystem::exists(staging, ec)) return {};
  if (std::filesystem::exists(staging / marker_name, ec)) {
    // Committed: finish the swap. Files still in the staging directory were not moved yet.
    auto lines = read_marker(staging / marker_name);
    if (!lines) return tl::unexpected(lines.error());
    for (const auto& line : *lines) {
      for (const auto extension : segment_extensions) {
        const auto name = segment::file_name(line.base_offset, extension);
        if (line.remove) {
          std::filesystem::remove(dir / name, ec);
          if (ec) return tl::unexpected(filesystem_error("remove", dir / name, ec));
        } else if (std::filesystem::exists(staging / name, ec)) {
          std::filesystem::rename(staging / name, dir / name, ec);
          if (ec) return tl::unexpected(filesystem_error("rename", staging / name, ec));
        }
      }
    }
    if (auto r = sync_directory(dir); !r) return r;
    report.compaction_completed = true;
  } else {
    report.compaction_rolled_back = true;
  }
  std::filesystem::remove_all(staging, ec);
  if (ec) return tl::unexpected(filesystem_error("remove", staging, ec));
  log_log.info(report.compaction_completed ? "recovery finished an interrupted compaction"
                                           : "recovery discarded an uncommitted compaction",
               {{"dir", dir.string()}});
  return sync_directory(dir);
}

}  // namespace substrate::log
