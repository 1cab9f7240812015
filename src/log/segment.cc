#include "log/segment.h"

#include <algorithm>
#include <array>
#include <limits>
#include <system_error>

#include <fmt/format.h>

#include "core/assert.h"
#include "log/bytes.h"
#include "log/logger.h"
#include "log/records.h"

namespace substrate::log {
namespace {

constexpr std::int64_t relative_offset_max = std::numeric_limits<std::uint32_t>::max();

result<std::vector<std::byte>> read_whole(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<std::byte>{};
  auto f = file::open(path, open_mode::read_write);
  if (!f) return tl::unexpected(f.error());
  auto size = f->size();
  if (!size) return tl::unexpected(size.error());
  std::vector<std::byte> bytes(*size);
  auto got = f->read_at(bytes, 0);
  if (!got) return tl::unexpected(got.error());
  bytes.resize(*got);
  return bytes;
}

// The longest prefix of well-formed entries: offsets and positions strictly increasing and
// positions inside the log. Sets `dropped` when anything (including a partial entry) was cut.
std::vector<index_entry> parse_index(std::span<const std::byte> bytes, std::uint64_t log_size, bool& dropped) {
  std::vector<index_entry> entries;
  dropped = bytes.size() % index_entry_bytes != 0;
  for (std::size_t at = 0; at + index_entry_bytes <= bytes.size(); at += index_entry_bytes) {
    index_entry e{load_be<std::uint32_t>(bytes.data() + at), load_be<std::uint32_t>(bytes.data() + at + 4)};
    const bool ordered =
        entries.empty() || (e.relative_offset > entries.back().relative_offset && e.position > entries.back().position);
    if (!ordered || e.position >= log_size) {
      dropped = true;
      break;
    }
    entries.push_back(e);
  }
  return entries;
}

std::vector<time_index_entry> parse_time_index(std::span<const std::byte> bytes, bool& dropped) {
  std::vector<time_index_entry> entries;
  dropped = bytes.size() % time_index_entry_bytes != 0;
  for (std::size_t at = 0; at + time_index_entry_bytes <= bytes.size(); at += time_index_entry_bytes) {
    time_index_entry e{load_be<std::int64_t>(bytes.data() + at), load_be<std::uint32_t>(bytes.data() + at + 8)};
    const bool ordered = entries.empty() || (e.timestamp > entries.back().timestamp &&
                                             e.relative_offset >= entries.back().relative_offset);
    if (!ordered) {
      dropped = true;
      break;
    }
    entries.push_back(e);
  }
  return entries;
}

std::array<std::byte, index_entry_bytes> encode(const index_entry& e) {
  std::array<std::byte, index_entry_bytes> out;
  store_be(out.data(), e.relative_offset);
  store_be(out.data() + 4, e.position);
  return out;
}

std::array<std::byte, time_index_entry_bytes> encode(const time_index_entry& e) {
  std::array<std::byte, time_index_entry_bytes> out;
  store_be(out.data(), e.timestamp);
  store_be(out.data() + 8, e.relative_offset);
  return out;
}

}  // namespace

std::string segment::file_name(std::int64_t base_offset, std::string_view extension) {
  return fmt::format("{:020d}{}", base_offset, extension);
}

std::filesystem::path segment::log_path() const {
  return dir_ / file_name(base_offset_, ".log");
}
std::filesystem::path segment::index_path() const {
  return dir_ / file_name(base_offset_, ".index");
}
std::filesystem::path segment::time_index_path() const {
  return dir_ / file_name(base_offset_, ".timeindex");
}

segment::~segment() = default;

result<std::unique_ptr<segment>> segment::create(const std::filesystem::path& dir, std::int64_t base_offset,
                                                 const segment_options& options) {
  std::unique_ptr<segment> s(new segment(dir, base_offset, options));
  auto log = file::open(s->log_path(), open_mode::read_write_create);
  if (!log) return tl::unexpected(log.error());
  s->log_ = std::move(*log);
  // A leftover of this name can only be an empty segment (its base offset is the next offset),
  // but its preallocated zeros would be mistaken for data length: start from nothing.
  if (auto r = s->log_.truncate(0); !r) return tl::unexpected(r.error());
  s->active_ = true;
  if (auto r = s->reserve_for(0); !r) return tl::unexpected(r.error());
  if (auto r = s->rewrite_index_files(); !r) return tl::unexpected(r.error());
  if (auto r = s->open_index_files(); !r) return tl::unexpected(r.error());
  return s;
}

result<std::unique_ptr<segment>> segment::open(const std::filesystem::path& dir, std::int64_t base_offset,
                                               const segment_options& options, segment_role role,
                                               segment_recovery* report) {
  std::unique_ptr<segment> s(new segment(dir, base_offset, options));
  auto log = file::open(s->log_path(), open_mode::read_write);
  if (!log) return tl::unexpected(log.error());
  s->log_ = std::move(*log);
  segment_recovery local;
  if (auto r = s->recover(role, report ? *report : local); !r) return tl::unexpected(r.error());
  return s;
}

result<void> segment::recover(segment_role role, segment_recovery& report) {
  auto file_size = log_.size();
  if (!file_size) return tl::unexpected(file_size.error());
  auto index_bytes = read_whole(index_path());
  if (!index_bytes) return tl::unexpected(index_bytes.error());
  auto time_bytes = read_whole(time_index_path());
  if (!time_bytes) return tl::unexpected(time_bytes.error());
  std::error_code ec;
  bool stale = !std::filesystem::exists(index_path(), ec);
  bool dropped = false;
  index_ = parse_index(*index_bytes, *file_size, dropped);
  stale = stale || dropped;
  time_index_ = parse_time_index(*time_bytes, dropped);
  if (dropped || !std::filesystem::exists(time_index_path(), ec)) {
    // The largest timestamp before the scan start would be unknown: rebuild both from the start.
    index_.clear();
    time_index_.clear();
    stale = true;
  }

  // The scan starts at the last index entry that points at a valid batch with the offset the
  // entry claims. An entry can run ahead of the log (the index reached the disk, the batch did
  // not), so it is verified rather than trusted.
  end_ = *file_size;
  std::uint64_t start = 0;
  while (!index_.empty()) {
    const auto entry = index_.back();
    bool valid = false;
    auto r = scan(entry.position, scan_mode::verified,
                  [&](std::span<const std::byte>, const batch_header& h, std::uint64_t) {
                    valid = h.base_offset == base_offset_ + entry.relative_offset;
                    return false;
                  });
    if (!r) return tl::unexpected(r.error());
    if (valid) {
      start = entry.position;
      break;
    }
    index_.pop_back();
    stale = true;
  }
  if (!index_.empty()) next_offset_ = base_offset_ + index_.back().relative_offset;

  std::int64_t next = next_offset_;
  auto stop =
      scan(start, scan_mode::verified, [&](std::span<const std::byte>, const batch_header& h, std::uint64_t position) {
        // Offsets only grow, and relative offsets must fit the index.
        if (h.base_offset < next || h.last_offset() - base_offset_ > relative_offset_max) return false;
        if (position > std::numeric_limits<std::uint32_t>::max()) return false;
        next = h.next_offset();
        max_timestamp_ = std::max(max_timestamp_, h.max_timestamp);
        const std::size_t entries_before = index_.size();
        maybe_index(position, h);
        stale = stale || index_.size() != entries_before;
        return true;
      });
  if (!stop) return tl::unexpected(stop.error());
  next_offset_ = next;
  end_ = stop->position;

  // Time index entries past the recovered end describe batches that are gone.
  const auto kept_end = std::find_if(time_index_.begin(), time_index_.end(), [&](const time_index_entry& t) {
    return base_offset_ + t.relative_offset >= next_offset_;
  });
  if (kept_end != time_index_.end()) {
    time_index_.erase(kept_end, time_index_.end());
    stale = true;
  }
  for (const auto& t : time_index_) max_timestamp_ = std::max(max_timestamp_, t.timestamp);

  if (end_ < *file_size) {
    report.truncated_bytes = *file_size - end_;
    // A zeroed tail is the normal state of a preallocated segment; anything else is a torn write.
    if (stop->invalid && stop->invalid->code != make_error_code(errc::invalid_batch_length)) {
      log_log.warn("segment recovery: truncating after the last valid batch", {{"segment", log_path().string()},
                                                                               {"position", end_},
                                                                               {"bytes", report.truncated_bytes},
                                                                               {"reason", stop->invalid->message()}});
    }
    if (auto r = log_.truncate(end_); !r) return tl::unexpected(r.error());
  }

  if (role == segment_role::active) {
    active_ = true;
    reserved_ = end_;
    if (auto r = reserve_for(end_); !r) return tl::unexpected(r.error());
  } else if (max_timestamp_ >= 0 && (time_index_.empty() || time_index_.back().timestamp < max_timestamp_)) {
    // A closed segment ends with an entry for its largest timestamp, as seal() writes it.
    time_index_.push_back({max_timestamp_, index_.empty() ? 0u : index_.back().relative_offset});
    stale = true;
  }
  if (stale) {
    report.index_rewritten = true;
    if (auto r = rewrite_index_files(); !r) return tl::unexpected(r.error());
  }
  if (active_) return open_index_files();
  return {};
}

result<void> segment::rewrite_index_files() {
  std::vector<std::byte> bytes;
  for (const auto& e : index_) {
    const auto raw = encode(e);
    bytes.insert(bytes.end(), raw.begin(), raw.end());
  }
  std::vector<std::byte> time_bytes;
  for (const auto& e : time_index_) {
    const auto raw = encode(e);
    time_bytes.insert(time_bytes.end(), raw.begin(), raw.end());
  }
  for (const auto& [path, content] : {std::pair{index_path(), &bytes}, std::pair{time_index_path(), &time_bytes}}) {
    auto f = file::open(path, open_mode::read_write_create);
    if (!f) return tl::unexpected(f.error());
    if (auto r = f->truncate(0); !r) return r;
    if (auto r = f->write_at(*content, 0); !r) return r;
  }
  index_files_stale_ = false;
  return {};
}

result<void> segment::open_index_files() {
  auto index = file::open(index_path(), open_mode::read_write_create);
  if (!index) return tl::unexpected(index.error());
  auto time_index = file::open(time_index_path(), open_mode::read_write_create);
  if (!time_index) return tl::unexpected(time_index.error());
  index_file_ = std::move(*index);
  time_index_file_ = std::move(*time_index);
  return {};
}

void segment::write_index_entry(std::size_t slot) {
  if (!index_file_.is_open()) return;
  if (auto r = index_file_.write_at(encode(index_[slot]), slot * index_entry_bytes); !r) {
    index_files_stale_ = true;
    log_log.warn("index write failed; the index is rewritten when the segment closes",
                 {{"reason", r.error().message()}});
  }
}

void segment::write_time_index_entry(std::size_t slot) {
  if (!time_index_file_.is_open()) return;
  if (auto r = time_index_file_.write_at(encode(time_index_[slot]), slot * time_index_entry_bytes); !r) {
    index_files_stale_ = true;
    log_log.warn("time index write failed; the index is rewritten when the segment closes",
                 {{"reason", r.error().message()}});
  }
}

void segment::maybe_index(std::uint64_t position, const batch_header& header) {
  if (!index_.empty() && position - index_.back().position < options_.index_interval_bytes) return;
  const auto relative = static_cast<std::uint32_t>(header.base_offset - base_offset_);
  index_.push_back({relative, static_cast<std::uint32_t>(position)});
  write_index_entry(index_.size() - 1);
  // max_timestamp_ already includes this batch, so the entry holds for it and all before it.
  if (max_timestamp_ >= 0 && (time_index_.empty() || time_index_.back().timestamp < max_timestamp_)) {
    time_index_.push_back({max_timestamp_, relative});
    write_time_index_entry(time_index_.size() - 1);
  }
}

result<void> segment::reserve_for(std::uint64_t end) {
  const std::uint64_t limit = options_.preallocate_bytes;
  if (limit == 0 || reserved_ >= limit || end < reserved_) return {};
  // Whole steps past `end`, so the next writes land in reserved space too.
  const std::uint64_t step = std::max<std::uint64_t>(options_.preallocate_step_bytes, 1);
  const std::uint64_t target = std::min(limit, (end / step + 1) * step);
  // From the end of what is there: [end_, reserved_) is already zeros, and below end_ is data.
  if (auto r = log_.write_zeros(std::max(reserved_, end_), target); !r) return r;
  reserved_ = target;
  return {};
}

result<void> segment::append(std::span<const std::byte> batch, const batch_header& header) {
  SUBSTRATE_ASSERT(active_, "append to closed segment {}", base_offset_);
  SUBSTRATE_ASSERT(header.base_offset >= next_offset_, "offset {} after {}", header.base_offset, next_offset_);
  SUBSTRATE_ASSERT(header.last_offset() - base_offset_ <= relative_offset_max, "relative offset overflow");
  SUBSTRATE_ASSERT(end_ <= std::numeric_limits<std::uint32_t>::max(), "segment position overflow");
  const std::uint64_t position = end_;
  if (auto r = reserve_for(position + batch.size()); !r) return r;
  if (auto r = log_.write_at(batch, position); !r) return r;
  end_ += batch.size();
  next_offset_ = header.next_offset();
  max_timestamp_ = std::max(max_timestamp_, header.max_timestamp);
  maybe_index(position, header);
  return {};
}

std::uint64_t segment::indexed_position(std::int64_t offset) const {
  if (offset <= base_offset_ || index_.empty()) return 0;
  const auto relative = static_cast<std::uint64_t>(std::min<std::int64_t>(offset - base_offset_, relative_offset_max));
  auto it = std::upper_bound(index_.begin(), index_.end(), relative,
                             [](std::uint64_t r, const index_entry& e) { return r < e.relative_offset; });
  return it == index_.begin() ? 0 : std::prev(it)->position;
}

result<scan_stop> scan_batches(const file& log, std::uint64_t end, std::uint64_t position, scan_mode mode,
                               const batch_visitor& visit) {
  std::array<std::byte, batch_header_bytes> head;
  std::vector<std::byte> batch;
  while (position < end) {
    auto stop_here = [&](error why) { return scan_stop{position, std::move(why)}; };
    auto got = log.read_at(head, position);
    if (!got) return tl::unexpected(got.error());
    if (*got < head.size() || end - position < head.size()) {
      return stop_here({errc::batch_too_short, fmt::format("torn header at {}", position)});
    }
    auto header = parse_batch_header(head);
    if (!header) return stop_here(header.error());
    if (header->size_bytes() > end - position) {
      return stop_here({errc::batch_too_short, fmt::format("batch at {} runs past the end", position)});
    }
    std::span<const std::byte> bytes = head;
    if (mode == scan_mode::verified) {
      batch.resize(header->size_bytes());
      auto read = log.read_at(batch, position);
      if (!read) return tl::unexpected(read.error());
      if (*read < batch.size()) return stop_here({errc::batch_too_short, "file shorter than its logical end"});
      auto valid = validate_batch(batch);
      if (!valid) return stop_here(valid.error());
      bytes = batch;
    }
    if (!visit(bytes, *header, position)) return scan_stop{position, std::nullopt};
    position += header->size_bytes();
  }
  return scan_stop{position, std::nullopt};
}

result<scan_stop> segment::scan(std::uint64_t position, scan_mode mode, const batch_visitor& visit) const {
  return scan_batches(log_, end_, position, mode, visit);
}

result<std::optional<segment::located_batch>> segment::find(std::int64_t offset) const {
  std::optional<located_batch> found;
  auto stop = scan(indexed_position(offset), scan_mode::headers,
                   [&](std::span<const std::byte>, const batch_header& h, std::uint64_t position) {
                     if (h.last_offset() < offset) return true;
                     found = located_batch{position, h};
                     return false;
                   });
  if (!stop) return tl::unexpected(stop.error());
  if (!found && stop->invalid) {
    return make_error(errc::corrupt_batch,
                      fmt::format("{} at {}: {}", log_path().string(), stop->position, stop->invalid->message()));
  }
  return found;
}

result<std::vector<std::byte>> segment::read(std::uint64_t position, std::size_t max_bytes) const {
  // Headers first, to pick the whole batches that fit; then one read for all of them.
  std::uint64_t end = position;
  auto stop = scan(position, scan_mode::headers, [&](std::span<const std::byte>, const batch_header& h, std::uint64_t) {
    if (end > position && end - position + h.size_bytes() > max_bytes) return false;
    end += h.size_bytes();
    return true;
  });
  if (!stop) return tl::unexpected(stop.error());
  auto corrupt = [&](std::uint64_t at, const error& why) {
    return make_error(errc::corrupt_batch, fmt::format("{} at {}: {}", log_path().string(), at, why.message()));
  };
  // A corrupt batch is never served. A damaged header after the first batch only ends the
  // range (the next read, starting there, reports it); a CRC failure inside the range fails
  // the whole read rather than hiding the damage behind a shorter answer.
  if (stop->invalid && stop->position == position) return corrupt(position, *stop->invalid);
  std::vector<std::byte> out(end - position);
  auto got = log_.read_at(out, position);
  if (!got) return tl::unexpected(got.error());
  if (*got < out.size()) return make_error(errc::io_error, fmt::format("{}: short read", log_path().string()));
  for (std::size_t at = 0; at < out.size();) {
    auto h = validate_batch(std::span(out).subspan(at));
    if (!h) return corrupt(position + at, h.error());
    at += h->size_bytes();
  }
  return out;
}

result<std::optional<timestamp_match>> segment::offset_for_timestamp(std::int64_t timestamp) const {
  if (max_timestamp_ < timestamp) return std::optional<timestamp_match>{};
  // Every batch up to the last entry below the target is too old: start at that batch.
  std::int64_t start_offset = base_offset_;
  for (const auto& t : time_index_) {
    if (t.timestamp >= timestamp) break;
    start_offset = base_offset_ + t.relative_offset;
  }
  std::optional<timestamp_match> found;
  std::optional<error> failure;
  auto stop = scan(indexed_position(start_offset), scan_mode::verified,
                   [&](std::span<const std::byte> batch, const batch_header& h, std::uint64_t) {
                     if (h.max_timestamp < timestamp) return true;
                     found = timestamp_match{h.base_offset, h.max_timestamp};
                     if (!h.is_compressed() && h.time_type() == timestamp_type::create_time) {
                       auto records = decode_records(batch);
                       if (!records) {
                         failure = records.error();
                         return false;
                       }
                       for (const auto& r : *records) {
                         if (record_timestamp(h, r) >= timestamp) {
                           found = timestamp_match{h.base_offset + r.offset_delta, record_timestamp(h, r)};
                           break;
                         }
                       }
                     }
                     return false;
                   });
  if (!stop) return tl::unexpected(stop.error());
  if (failure) return tl::unexpected(*failure);
  if (!found && stop->invalid) return make_error(errc::corrupt_batch, stop->invalid->message());
  return found;
}

result<void> segment::seal() {
  SUBSTRATE_ASSERT(active_, "seal of closed segment {}", base_offset_);
  if (max_timestamp_ >= 0 && (time_index_.empty() || time_index_.back().timestamp < max_timestamp_)) {
    time_index_.push_back({max_timestamp_, index_.empty() ? 0u : index_.back().relative_offset});
    write_time_index_entry(time_index_.size() - 1);
  }
  if (auto r = log_.truncate(end_); !r) return r;
  if (index_files_stale_) {
    if (auto r = rewrite_index_files(); !r) return r;
  }
  index_file_ = file();
  time_index_file_ = file();
  active_ = false;
  return {};
}

result<std::vector<file>> segment::duplicate_files(bool with_indexes) const {
  std::vector<file> files;
  for (const file* f : {&log_, &index_file_, &time_index_file_}) {
    if (!f->is_open() || (!with_indexes && f != &log_)) continue;
    auto copy = f->duplicate();
    if (!copy) return tl::unexpected(copy.error());
    files.push_back(std::move(*copy));
  }
  return files;
}

result<void> segment::remove() {
  for (const auto& path : {log_path(), index_path(), time_index_path()}) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) return make_error(errc::io_error, fmt::format("remove {}: {}", path.string(), ec.message()));
  }
  log_ = file();
  index_file_ = file();
  time_index_file_ = file();
  return {};
}

}  // namespace substrate::log
