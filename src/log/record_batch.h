#pragma once
// The RecordBatch v2 header (docs/formats/log.md, spec kafka-compat.md 3.1): parsing and
// validation of batches that come from the network or the disk, and the one in-place rewrite
// the log does (baseOffset).
//
// Everything here treats its input as untrusted: malformed bytes give an error, never an
// assertion. Nothing here decompresses. Stateless and thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"
#include "log/errc.h"

namespace substrate::log {

// Byte offsets of the header fields; all big-endian.
namespace batch_layout {
inline constexpr std::size_t base_offset = 0;
inline constexpr std::size_t batch_length = 8;
inline constexpr std::size_t partition_leader_epoch = 12;
inline constexpr std::size_t magic = 16;
inline constexpr std::size_t crc = 17;
inline constexpr std::size_t attributes = 21;
inline constexpr std::size_t last_offset_delta = 23;
inline constexpr std::size_t base_timestamp = 27;
inline constexpr std::size_t max_timestamp = 35;
inline constexpr std::size_t producer_id = 43;
inline constexpr std::size_t producer_epoch = 51;
inline constexpr std::size_t base_sequence = 53;
inline constexpr std::size_t record_count = 57;
inline constexpr std::size_t records = 61;
// The CRC covers [attributes, end of batch); the fields before it can be rewritten freely.
inline constexpr std::size_t crc_start = attributes;
// batchLength counts the bytes after itself.
inline constexpr std::size_t length_overhead = 12;
}  // namespace batch_layout

inline constexpr std::size_t batch_header_bytes = batch_layout::records;

enum class compression : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class timestamp_type : std::uint8_t { create_time = 0, log_append_time = 1 };

// The decoded header fields of one batch. A plain value: it does not point into the bytes.
struct batch_header {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = 0;
  std::int8_t magic = 2;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t record_count = 0;

  // Whole batch including the first 12 bytes.
  [[nodiscard]] std::size_t size_bytes() const {
    return static_cast<std::size_t>(batch_length) + batch_layout::length_overhead;
  }
  [[nodiscard]] std::int64_t last_offset() const { return base_offset + last_offset_delta; }
  [[nodiscard]] std::int64_t next_offset() const { return last_offset() + 1; }
  // Bits 0-2; values above 4 are reported as is and rejected by nobody here: we never decompress.
  [[nodiscard]] std::uint8_t compression_id() const { return static_cast<std::uint8_t>(attributes & 0x7); }
  [[nodiscard]] bool is_compressed() const { return compression_id() != 0; }
  [[nodiscard]] timestamp_type time_type() const {
    return (attributes & 0x8) != 0 ? timestamp_type::log_append_time : timestamp_type::create_time;
  }
  [[nodiscard]] bool is_transactional() const { return (attributes & 0x10) != 0; }
  [[nodiscard]] bool is_control() const { return (attributes & 0x20) != 0; }
};

// Decodes the first 61 bytes and checks what the header alone can tell: enough bytes for a
// header, batchLength at least the header, magic 2, recordCount and lastOffsetDelta not
// negative, baseOffset + lastOffsetDelta + 1 representable, and for an uncompressed batch no
// more records than offsets (compaction may leave fewer records than lastOffsetDelta + 1,
// never more). Does not look at the CRC or the records.
[[nodiscard]] result<batch_header> parse_batch_header(std::span<const std::byte> bytes);

// parse_batch_header, plus: `bytes` holds the whole batch (it may hold more after it) and the
// CRC-32C over [attributes, end of batch) matches. What the log checks on every read.
[[nodiscard]] result<batch_header> validate_batch(std::span<const std::byte> bytes);

// validate_batch, plus what a producer's batch must satisfy before the log stores it: `bytes`
// is exactly one batch, recordCount > 0, lastOffsetDelta + 1 == recordCount (whatever the
// codec: the count is never compressed), and not a control batch.
[[nodiscard]] result<batch_header> validate_producer_batch(std::span<const std::byte> bytes);

// Overwrites baseOffset. The CRC does not cover it, so the batch stays valid. `batch` must have
// passed validation (our invariant, asserted).
void set_base_offset(std::span<std::byte> batch, std::int64_t base_offset);

// The CRC-32C a batch should carry (computed over [attributes, end)). `batch` holds a header.
[[nodiscard]] std::uint32_t compute_batch_crc(std::span<const std::byte> batch);

}  // namespace substrate::log
