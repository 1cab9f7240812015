#pragma once
// Error codes of the storage engine. The Kafka layer maps them to wire error codes once, at the
// protocol edge (corrupt batch -> CORRUPT_MESSAGE, message_too_large -> MESSAGE_TOO_LARGE, ...).

#include <system_error>

namespace substrate::log {

enum class errc {
  // The bytes are shorter than a batch header, or than the batch length they announce.
  batch_too_short = 1,
  // batchLength is below the header size or the bytes hold more than one batch.
  invalid_batch_length,
  // magic is not 2: only RecordBatch v2 is stored.
  unsupported_magic,
  // The CRC-32C over attributes..end of batch does not match the header.
  crc_mismatch,
  // recordCount or lastOffsetDelta is negative or they disagree.
  invalid_record_count,
  // A record inside a batch is malformed (varint, length, count).
  corrupt_batch,
  // The records of a compressed batch were asked for; this library never decompresses.
  compressed_batch,
  // The batch is a control batch or has bits a producer must not set.
  invalid_batch,
  // The batch is larger than partition_config::batch_bytes_max.
  message_too_large,
  // The offset is below the log start or above the next offset.
  offset_out_of_range,
  // A system call failed; the context names the file and the errno text.
  io_error,
  // A partition_config value is out of bounds.
  invalid_config,
};

const std::error_category& log_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), log_category()};
}

}  // namespace substrate::log

template <>
struct std::is_error_code_enum<substrate::log::errc> : std::true_type {};
