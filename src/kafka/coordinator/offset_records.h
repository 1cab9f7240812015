#pragma once
// The records of the internal topic `__consumer_offsets` (docs/formats/consumer-offsets.md):
// Kafka's own layout, so Kafka tools can read our data dir's offsets topic. We write offset
// commit keys (version 1) with values of version 3, and null values (tombstones) for dropped
// offsets; we read key versions 0-1 and value versions 0-3, and skip group metadata records
// (key version 2) and anything newer, which this broker never writes.
//
// Pure functions over bytes; any thread. Decoding treats its input as untrusted (a bad record
// is an error value, never an assertion).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "kafka/coordinator/group_manager.h"

namespace substrate::kafka::coordinator {

inline constexpr std::string_view offsets_topic = "__consumer_offsets";

// Internal topics are created and written by the broker only (clients may read them).
[[nodiscard]] inline bool is_internal_topic(std::string_view topic) {
  return topic == offsets_topic;
}

struct offset_key {
  std::string group_id;
  topic_partition partition;
  friend bool operator==(const offset_key&, const offset_key&) = default;
};

// One record of the topic: a commit, or a tombstone when `value` is empty.
struct offset_record {
  offset_key key;
  std::optional<committed_offset> value;
  friend bool operator==(const offset_record&, const offset_record&) = default;
};

[[nodiscard]] std::vector<std::byte> encode_offset_key(const offset_key& key);
[[nodiscard]] std::vector<std::byte> encode_offset_value(const committed_offset& value);

// One uncompressed RecordBatch v2 holding `records` in order (timestamps: `now_ms`).
[[nodiscard]] std::vector<std::byte> build_offset_batch(const std::vector<offset_record>& records, std::int64_t now_ms);

// A record read back, with its offset in the topic.
struct replayed_record {
  offset_record record;
  std::int64_t log_offset = 0;
};

struct replay_stats {
  std::size_t records = 0;
  std::size_t skipped = 0;        // group metadata, unknown versions, or records we cannot parse
  std::int64_t next_offset = -1;  // after the last batch decoded: where the next read starts
};

// Decodes every offset record of a run of whole batches (as the log returns them). Records it
// does not understand are counted in `stats.skipped`; a batch that fails validation or is
// compressed (we never write one) is an error.
[[nodiscard]] result<std::vector<replayed_record>> decode_offset_batches(std::span<const std::byte> batches,
                                                                         replay_stats& stats);

}  // namespace substrate::kafka::coordinator
