#pragma once
// The records inside an uncompressed RecordBatch v2 (spec kafka-compat.md 3.2): a builder that
// encodes a batch, and a decoder that walks the records of one. The log needs records only for
// compaction and offset_for_timestamp; the append and read paths never look inside a batch.
// Neither decompresses: compressed batches give errc::compressed_batch.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "log/record_batch.h"

namespace substrate::log {

struct header_view {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: null value
};

// One decoded record. The views point into the batch bytes passed to decode_records.
struct record_view {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::optional<std::string_view> key;    // nullopt: null key
  std::optional<std::string_view> value;  // nullopt: null value, a tombstone
  std::vector<header_view> headers;
};

// A record's absolute timestamp. Both parts come from the producer, so the sum wraps rather
// than overflows (the builder's subtraction wraps back to the same delta).
[[nodiscard]] inline std::int64_t record_timestamp(const batch_header& h, const record_view& r) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(h.base_timestamp) +
                                   static_cast<std::uint64_t>(r.timestamp_delta));
}

// Decodes every record of a validated, uncompressed batch. Checks each varint (length, range),
// that each record's length matches its fields, that there are exactly recordCount records and
// no trailing bytes, and that offset deltas increase and stay within lastOffsetDelta.
[[nodiscard]] result<std::vector<record_view>> decode_records(std::span<const std::byte> batch);

// Encodes an uncompressed batch record by record. For tests and for compaction, which re-encodes
// surviving records with their original offsets and timestamps. Records are encoded as they are
// added, so views passed to add() need only live for the call.
//
// Ownership: a plain value, single-threaded.
class batch_builder {
public:
  batch_builder() = default;

  // Header fields that default sensibly: baseOffset 0, epoch 0, no producer id (-1/-1/-1).
  batch_builder& base_offset(std::int64_t value);
  batch_builder& partition_leader_epoch(std::int32_t value);
  batch_builder& producer(std::int64_t id, std::int16_t epoch, std::int32_t base_sequence);
  // Attribute bits other than the codec (timestamp type, transactional); the builder only
  // writes uncompressed batches, so codec bits must be 0 (asserted).
  batch_builder& attributes(std::int16_t value);
  // Set before the first add(); by default the first record's timestamp.
  batch_builder& base_timestamp(std::int64_t value);
  // By default the largest record timestamp.
  batch_builder& max_timestamp(std::int64_t value);
  // By default the largest offset delta; compaction keeps the original one so the batch still
  // spans the offsets it spanned before records were removed.
  batch_builder& last_offset_delta(std::int32_t value);

  // Adds a record. `offset_delta` defaults to one past the previous record's (0 for the first);
  // it must increase (our invariant, asserted).
  batch_builder& add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                     std::int64_t timestamp_ms, std::span<const header_view> headers = {},
                     std::optional<std::int32_t> offset_delta = std::nullopt);

  [[nodiscard]] std::size_t record_count() const { return record_count_; }

  // The encoded batch with a correct batchLength and CRC.
  [[nodiscard]] std::vector<std::byte> build() const;

private:
  std::vector<std::byte> records_;
  std::vector<std::byte> body_scratch_;  // add()'s, reused
  std::int32_t record_count_ = 0;
  std::int64_t base_offset_ = 0;
  std::int32_t partition_leader_epoch_ = 0;
  std::int16_t attributes_ = 0;
  std::int64_t producer_id_ = -1;
  std::int16_t producer_epoch_ = -1;
  std::int32_t base_sequence_ = -1;
  std::optional<std::int64_t> base_timestamp_;
  std::optional<std::int64_t> max_timestamp_;
  std::int64_t max_record_timestamp_ = -1;
  std::optional<std::int32_t> last_offset_delta_;
  std::int32_t previous_offset_delta_ = -1;
};

}  // namespace substrate::log
