// partition::compact(): see docs/formats/log.md, "Compaction".

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

// What pass 1 learned about a key over all closed segments.
struct key_state {
  std::int64_t latest_offset = -1;
  std::uint64_t records = 0;
  bool latest_is_tombstone = false;
};

using key_map = std::unordered_map<std::string, key_state>;

// Batches that are compressed (we never decompress) or control batches are kept as they are.
bool compactable(const batch_header& h) {
  return !h.is_compressed() && !h.is_control();
}

bool survives(const key_map& keys, const record_view& r, std::int64_t offset) {
  if (!r.key) return true;  // nothing to deduplicate against
  const auto it = keys.find(std::string(*r.key));
  // Pass 1 read the same immutable segments, so every key is known.
  SUBSTRATE_ASSERT(it != keys.end(), "key missing from the compaction map");
  const auto& state = it->second;
  if (offset != state.latest_offset) return false;
  // A tombstone that is the key's only record has already removed every older value: it has
  // done its job and goes in this pass. Otherwise it stays one more pass, so that readers
  // that saw the old values get a chance to see the delete.
  return !(state.latest_is_tombstone && state.records == 1);
}

error corrupt(const segment& s, const scan_stop& stop) {
  return error{errc::corrupt_batch, fmt::format("compaction of {} at {}: {}", s.log_path().string(), stop.position,
                                                stop.invalid->message())};
}

result<void> collect_keys(const segment& s, key_map& keys) {
  std::optional<error> failure;
  auto stop =
      s.scan(0, scan_mode::verified, [&](std::span<const std::byte> batch, const batch_header& h, std::uint64_t) {
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
          ++state.records;
          state.latest_is_tombstone = !r.value.has_value();
        }
        return true;
      });
  if (!stop) return tl::unexpected(stop.error());
  if (failure) return tl::unexpected(*failure);
  if (stop->invalid) return tl::unexpected(corrupt(s, *stop));
  return {};
}

struct rewrite_outcome {
  bool changed = false;
  std::uint64_t records_removed = 0;
};

// Writes the surviving batches of `s` to `out`, re-encoding the uncompressed batches that lost
// records with their original base offset, offset deltas, timestamps and lastOffsetDelta.
result<rewrite_outcome> rewrite(const segment& s, const key_map& keys, file& out) {
  rewrite_outcome outcome;
  std::uint64_t position = 0;
  std::optional<error> failure;
  auto write = [&](std::span<const std::byte> bytes) {
    if (auto r = out.write_at(bytes, position); !r) {
      failure = r.error();
      return false;
    }
    position += bytes.size();
    return true;
  };
  auto stop =
      s.scan(0, scan_mode::verified, [&](std::span<const std::byte> batch, const batch_header& h, std::uint64_t) {
        if (!compactable(h)) return write(batch);
        auto records = decode_records(batch);
        if (!records) {
          failure = records.error();
          return false;
        }
        std::vector<const record_view*> kept;
        for (const auto& r : *records) {
          if (survives(keys, r, h.base_offset + r.offset_delta)) kept.push_back(&r);
        }
        if (kept.size() == records->size()) return write(batch);
        outcome.changed = true;
        outcome.records_removed += records->size() - kept.size();
        if (kept.empty()) return true;
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
        return write(builder.build());
      });
  if (!stop) return tl::unexpected(stop.error());
  if (failure) return tl::unexpected(*failure);
  if (stop->invalid) return tl::unexpected(corrupt(s, *stop));
  return outcome;
}

error filesystem_error(const char* operation, const std::filesystem::path& path, const std::error_code& ec) {
  return error{errc::io_error, fmt::format("{} {}: {}", operation, path.string(), ec.message())};
}

}  // namespace

result<compaction_result> partition::compact() {
  compaction_result out;
  key_map keys;
  // The active segment is neither read nor rewritten: as in Kafka, only closed segments are.
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    if (auto r = collect_keys(*segments_[i], keys); !r) return tl::unexpected(r.error());
  }

  for (std::size_t i = 0; i + 1 < segments_.size();) {
    segment& s = *segments_[i];
    const auto log_path = s.log_path();
    auto cleaned_path = log_path;
    cleaned_path += ".cleaned";
    auto cleaned = file::open(cleaned_path, open_mode::read_write_create);
    if (!cleaned) return tl::unexpected(cleaned.error());
    if (auto r = cleaned->truncate(0); !r) return tl::unexpected(r.error());
    auto outcome = rewrite(s, keys, *cleaned);
    std::error_code ec;
    if (!outcome || !outcome->changed) {
      std::filesystem::remove(cleaned_path, ec);
      if (!outcome) return tl::unexpected(outcome.error());
      ++i;
      continue;
    }
    out.bytes_before += s.size_bytes();
    out.records_removed += outcome->records_removed;
    if (auto r = cleaned->sync(); !r) return tl::unexpected(r.error());
    // The swap: drop the indexes (stale once the log changes; recovery rebuilds missing ones),
    // then rename over the log atomically. A crash before the rename leaves the old log and a
    // .cleaned file, which open() deletes.
    for (const auto& index : {s.index_path(), s.time_index_path()}) {
      std::filesystem::remove(index, ec);
      if (ec) return tl::unexpected(filesystem_error("remove", index, ec));
    }
    std::filesystem::rename(cleaned_path, log_path, ec);
    if (ec) return tl::unexpected(filesystem_error("rename", cleaned_path, ec));
    if (auto r = sync_directory(dir_); !r) return tl::unexpected(r.error());

    auto reopened = segment::open(dir_, s.base_offset(), options(), segment_role::closed);
    if (!reopened) return tl::unexpected(reopened.error());
    segments_[i] = std::move(*reopened);
    ++out.segments_rewritten;
    // An emptied segment goes, except the first: its base offset is the log start offset,
    // which compaction does not move.
    if (segments_[i]->empty() && i > 0) {
      if (auto r = segments_[i]->remove(); !r) return tl::unexpected(r.error());
      segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i));
      ++out.segments_deleted;
      continue;
    }
    out.bytes_after += segments_[i]->size_bytes();
    ++i;
  }
  if (out.segments_rewritten > 0) {
    log_log.info("compaction rewrote segments", {{"dir", dir_.string()},
                                                 {"segments", out.segments_rewritten},
                                                 {"records_removed", out.records_removed},
                                                 {"bytes_before", out.bytes_before},
                                                 {"bytes_after", out.bytes_after}});
  }
  return out;
}

}  // namespace substrate::log
