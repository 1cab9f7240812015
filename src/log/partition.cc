#include "log/partition.h"

#include <algorithm>
#include <limits>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "core/assert.h"
#include "log/logger.h"
#include "log/record_batch.h"

namespace substrate::log {
namespace {

constexpr std::int64_t relative_offset_max = std::numeric_limits<std::uint32_t>::max();

// "00000000000000000042" -> 42; anything else is not ours.
std::optional<std::int64_t> parse_base_offset(const std::string& stem) {
  if (stem.size() != 20 || !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto value = std::stoull(stem);
  if (value > static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

error config_error(const char* name, std::int64_t value) {
  return error{errc::invalid_config, fmt::format("{} = {} is out of bounds", name, value)};
}

}  // namespace

// compaction.cc: finishes or discards an interrupted compaction before open() lists segments.
result<void> recover_compaction(const std::filesystem::path& dir, open_report& report);

result<void> validate(const partition_config& c) {
  // Positions in the index are u32 and a segment may exceed segment_bytes by one batch.
  if (c.segment_bytes < 1024 || c.segment_bytes > (std::int64_t{1} << 31)) {
    return tl::unexpected(config_error("segment_bytes", c.segment_bytes));
  }
  if (c.segment_ms <= 0) return tl::unexpected(config_error("segment_ms", c.segment_ms));
  if (c.index_interval_bytes < 1 || c.index_interval_bytes > (std::int64_t{1} << 31)) {
    return tl::unexpected(config_error("index_interval_bytes", c.index_interval_bytes));
  }
  if (c.retention_bytes < -1) return tl::unexpected(config_error("retention_bytes", c.retention_bytes));
  if (c.retention_ms < -1) return tl::unexpected(config_error("retention_ms", c.retention_ms));
  if (c.delete_retention_ms < 0) return tl::unexpected(config_error("delete_retention_ms", c.delete_retention_ms));
  if (!(c.min_cleanable_dirty_ratio >= 0.0 && c.min_cleanable_dirty_ratio <= 1.0)) {
    return make_error(errc::invalid_config, fmt::format("min_cleanable_dirty_ratio = {} is out of bounds [0, 1]",
                                                        c.min_cleanable_dirty_ratio));
  }
  if (c.flush_interval_ms <= 0) return tl::unexpected(config_error("flush_interval_ms", c.flush_interval_ms));
  if (c.batch_bytes_max < static_cast<std::int64_t>(batch_header_bytes) ||
      c.batch_bytes_max > (std::int64_t{1} << 30)) {
    return tl::unexpected(config_error("batch_bytes_max", c.batch_bytes_max));
  }
  return {};
}

result<sync_done> sync_handle::run() {
  for (auto& f : files_) {
    if (auto r = f.sync(); !r) return tl::unexpected(r.error());
  }
  return sync_done{covered_offset_, sequence_};
}

partition::partition(std::filesystem::path dir, const partition_config& config)
    : dir_(std::move(dir)), config_(config) {}

partition::~partition() = default;

segment_options partition::options() const {
  return segment_options{static_cast<std::uint64_t>(config_.segment_bytes),
                         static_cast<std::uint32_t>(config_.index_interval_bytes)};
}

result<std::unique_ptr<partition>> partition::open(const std::filesystem::path& dir, const partition_config& config,
                                                   std::int64_t now_ms, open_report* report) {
  if (auto valid = validate(config); !valid) return tl::unexpected(valid.error());
  open_report local;
  open_report& out = report ? *report : local;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, fmt::format("create {}: {}", dir.string(), ec.message()));
  if (auto r = recover_compaction(dir, out); !r) return tl::unexpected(r.error());

  std::vector<std::int64_t> bases;
  std::vector<std::filesystem::path> index_files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto& path = entry.path();
    const auto extension = path.extension().string();
    if (extension == ".cleaned") {
      // An unfinished compaction: the original segment is still in place and complete.
      std::filesystem::remove(path, ec);
      ++out.temporary_files_deleted;
      continue;
    }
    const auto base = parse_base_offset(path.stem().string());
    if (!base) continue;
    if (extension == ".log") bases.push_back(*base);
    if (extension == ".index" || extension == ".timeindex") index_files.push_back(path);
  }
  if (ec) return make_error(errc::io_error, fmt::format("list {}: {}", dir.string(), ec.message()));
  std::sort(bases.begin(), bases.end());
  for (const auto& path : index_files) {
    // An index without its log is what an interrupted segment deletion leaves.
    if (!std::binary_search(bases.begin(), bases.end(), *parse_base_offset(path.stem().string()))) {
      std::filesystem::remove(path, ec);
      ++out.temporary_files_deleted;
    }
  }

  std::unique_ptr<partition> p(new partition(dir, config));
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const auto role = i + 1 == bases.size() ? segment_role::active : segment_role::closed;
    segment_recovery recovery;
    auto s = segment::open(dir, bases[i], p->options(), role, &recovery);
    if (!s) return tl::unexpected(s.error());
    out.truncated_bytes += recovery.truncated_bytes;
    out.indexes_rewritten += recovery.index_rewritten ? 1 : 0;
    p->segments_.push_back(std::move(*s));
  }
  if (p->segments_.empty()) {
    auto s = segment::create(dir, 0, p->options());
    if (!s) return tl::unexpected(s.error());
    p->segments_.push_back(std::move(*s));
  }
  p->log_start_offset_ = p->segments_.front()->base_offset();
  p->next_offset_ = p->active().next_offset();
  if (!p->active().empty()) p->active_since_ms_ = now_ms;

  // What survived the crash may still sit in the page cache only; start-up may block, so make
  // all of it durable now and start with durable_offset == next_offset.
  for (const auto& s : p->segments_) {
    auto files = s->duplicate_files();
    if (!files) return tl::unexpected(files.error());
    for (auto& f : *files) {
      if (auto r = f.sync(); !r) return tl::unexpected(r.error());
    }
  }
  if (auto r = sync_directory(dir); !r) return tl::unexpected(r.error());
  p->durable_offset_ = p->next_offset_;
  // Trimming the zero tail of the active segment is routine and not reported.
  if (out.indexes_rewritten > 0 || out.temporary_files_deleted > 0) {
    log_log.info("partition recovered", {{"dir", dir.string()},
                                         {"next_offset", p->next_offset_},
                                         {"truncated_bytes", out.truncated_bytes},
                                         {"indexes_rewritten", out.indexes_rewritten},
                                         {"temporary_files_deleted", out.temporary_files_deleted}});
  }
  return p;
}

std::uint64_t partition::size_bytes() const {
  std::uint64_t total = 0;
  for (const auto& s : segments_) total += s->size_bytes();
  return total;
}

result<void> partition::visit_tail(std::uint64_t bytes_min, const batch_visitor& visit) const {
  std::size_t first = segments_.size() - 1;
  std::uint64_t covered = segments_.back()->size_bytes();
  while (first > 0 && covered < bytes_min) {
    --first;
    covered += segments_[first]->size_bytes();
  }
  bool stopped = false;
  for (std::size_t i = first; i < segments_.size() && !stopped; ++i) {
    auto stop = segments_[i]->scan(0, scan_mode::headers,
                                   [&](std::span<const std::byte> bytes, const batch_header& h, std::uint64_t at) {
                                     if (visit(bytes, h, at)) return true;
                                     stopped = true;
                                     return false;
                                   });
    if (!stop) return tl::unexpected(stop.error());
    if (stop->invalid) {
      return make_error(errc::corrupt_batch, fmt::format("{} at {}: {}", segments_[i]->log_path().string(),
                                                         stop->position, stop->invalid->message()));
    }
  }
  return {};
}

result<append_result> partition::append(std::span<std::byte> batch, std::int64_t now_ms) {
  if (batch.size() > static_cast<std::size_t>(config_.batch_bytes_max)) {
    return make_error(errc::message_too_large,
                      fmt::format("{} bytes, max.message.bytes is {}", batch.size(), config_.batch_bytes_max));
  }
  auto header = validate_producer_batch(batch);
  if (!header) return tl::unexpected(header.error());

  const segment& current = active();
  if (!current.empty()) {
    const bool full = current.size_bytes() + batch.size() > static_cast<std::uint64_t>(config_.segment_bytes);
    const bool old = active_since_ms_ && now_ms - *active_since_ms_ >= config_.segment_ms;
    const bool offsets_exhausted =
        next_offset_ + header->last_offset_delta - current.base_offset() > relative_offset_max;
    if (full || old || offsets_exhausted) {
      if (auto r = roll(); !r) return tl::unexpected(r.error());
    }
  }

  set_base_offset(batch, next_offset_);
  header->base_offset = next_offset_;
  if (auto r = active().append(batch, *header); !r) return tl::unexpected(r.error());
  if (!active_since_ms_) active_since_ms_ = now_ms;
  next_offset_ = header->next_offset();
  return append_result{header->base_offset, header->last_offset()};
}

result<void> partition::roll() {
  // Create first: if that fails nothing changed and the current segment stays active.
  auto next = segment::create(dir_, next_offset_, options());
  if (!next) return tl::unexpected(next.error());
  auto directory = file::open(dir_, open_mode::directory);
  if (!directory) return tl::unexpected(directory.error());

  // The rolled segment's unsynced tail must be covered by the next sync, as must the new name.
  auto files = active().duplicate_files();
  if (!files) return tl::unexpected(files.error());
  for (auto& f : *files) pending_files_.push_back({std::move(f), sync_sequence_});
  pending_files_.push_back({std::move(*directory), sync_sequence_});

  if (auto r = active().seal(); !r) {
    // Only trimming or the final index entry failed; the data is whole and recovery trims.
    log_log.warn("sealing a segment failed; recovery will trim it",
                 {{"segment", active().log_path().string()}, {"reason", r.error().message()}});
  }
  segments_.push_back(std::move(*next));
  active_since_ms_.reset();
  return {};
}

result<std::vector<std::byte>> partition::read(std::int64_t offset, std::size_t max_bytes) const {
  if (offset < log_start_offset_ || offset > next_offset_) {
    return make_error(errc::offset_out_of_range,
                      fmt::format("offset {} outside [{}, {}]", offset, log_start_offset_, next_offset_));
  }
  if (offset == next_offset_) return std::vector<std::byte>{};
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](std::int64_t o, const std::unique_ptr<segment>& s) { return o < s->base_offset(); });
  if (it != segments_.begin()) --it;
  // Compaction can leave gaps: the batch holding `offset` may be gone, so look further.
  for (; it != segments_.end(); ++it) {
    auto found = (*it)->find(offset);
    if (!found) return tl::unexpected(found.error());
    if (*found) return (*it)->read((*found)->position, max_bytes);
  }
  return std::vector<std::byte>{};
}

result<std::optional<timestamp_match>> partition::offset_for_timestamp(std::int64_t timestamp) const {
  for (const auto& s : segments_) {
    auto found = s->offset_for_timestamp(timestamp);
    if (!found || *found) return found;
  }
  return std::optional<timestamp_match>{};
}

result<sync_handle> partition::prepare_sync(sync_scope scope) {
  sync_handle handle;
  handle.sequence_ = ++sync_sequence_;
  handle.covered_offset_ = next_offset_;
  for (const auto& pending : pending_files_) {
    auto copy = pending.handle.duplicate();
    if (!copy) return tl::unexpected(copy.error());
    handle.files_.push_back(std::move(*copy));
  }
  auto files = active().duplicate_files(scope == sync_scope::with_indexes);
  if (!files) return tl::unexpected(files.error());
  for (auto& f : *files) handle.files_.push_back(std::move(f));
  return handle;
}

void partition::complete_sync(const result<sync_done>& done) {
  // A failed sync changes nothing: the pending files stay for the next attempt. (Whether a
  // retry after a failed fdatasync is meaningful is the broker's call; it may stop the shard.)
  if (!done) return;
  durable_offset_ = std::max(durable_offset_, done->covered_offset);
  std::erase_if(pending_files_, [&](const pending_file& f) { return f.sequence < done->sequence; });
}

result<std::int64_t> partition::sync() {
  auto handle = prepare_sync();
  if (!handle) return tl::unexpected(handle.error());
  auto done = handle->run();
  complete_sync(done);
  if (!done) return tl::unexpected(done.error());
  return done->covered_offset;
}

result<void> partition::remove_front_segment() {
  SUBSTRATE_ASSERT(segments_.size() > 1, "the active segment is never removed");
  if (auto r = segments_.front()->remove(); !r) return r;
  segments_.erase(segments_.begin());
  log_start_offset_ = segments_.front()->base_offset();
  return {};
}

result<retention_result> partition::enforce_retention(std::int64_t now_ms) {
  retention_result out;
  if (config_.cleanup == cleanup_policy::compact) return out;
  auto remove_front = [&]() -> result<void> {
    const auto bytes = segments_.front()->size_bytes();
    if (auto r = remove_front_segment(); !r) return r;
    ++out.segments_deleted;
    out.bytes_deleted += bytes;
    return {};
  };
  if (config_.retention_bytes >= 0) {
    std::uint64_t total = size_bytes();
    const auto limit = static_cast<std::uint64_t>(config_.retention_bytes);
    while (segments_.size() > 1 && total - segments_.front()->size_bytes() >= limit) {
      total -= segments_.front()->size_bytes();
      if (auto r = remove_front(); !r) return tl::unexpected(r.error());
    }
  }
  if (config_.retention_ms >= 0) {
    // An empty closed segment (left by compaction) has nothing to keep: max_timestamp is -1.
    while (segments_.size() > 1 && now_ms - segments_.front()->max_timestamp() > config_.retention_ms) {
      if (auto r = remove_front(); !r) return tl::unexpected(r.error());
    }
  }
  if (out.segments_deleted > 0) {
    log_log.info("retention deleted segments", {{"dir", dir_.string()},
                                                {"segments", out.segments_deleted},
                                                {"bytes", out.bytes_deleted},
                                                {"log_start_offset", log_start_offset_}});
  }
  return out;
}

}  // namespace substrate::log
