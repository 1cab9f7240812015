#include "log/record_batch.h"

#include <limits>

#include <fmt/format.h>

#include "core/assert.h"
#include "log/bytes.h"
#include "log/crc32c.h"

namespace substrate::log {

result<batch_header> parse_batch_header(std::span<const std::byte> bytes) {
  namespace at = batch_layout;
  if (bytes.size() < batch_header_bytes) {
    return make_error(errc::batch_too_short,
                      fmt::format("{} bytes, a header needs {}", bytes.size(), batch_header_bytes));
  }
  const std::byte* p = bytes.data();
  batch_header h;
  h.base_offset = load_be<std::int64_t>(p + at::base_offset);
  h.batch_length = load_be<std::int32_t>(p + at::batch_length);
  h.partition_leader_epoch = load_be<std::int32_t>(p + at::partition_leader_epoch);
  h.magic = load_be<std::int8_t>(p + at::magic);
  h.crc = load_be<std::uint32_t>(p + at::crc);
  h.attributes = load_be<std::int16_t>(p + at::attributes);
  h.last_offset_delta = load_be<std::int32_t>(p + at::last_offset_delta);
  h.base_timestamp = load_be<std::int64_t>(p + at::base_timestamp);
  h.max_timestamp = load_be<std::int64_t>(p + at::max_timestamp);
  h.producer_id = load_be<std::int64_t>(p + at::producer_id);
  h.producer_epoch = load_be<std::int16_t>(p + at::producer_epoch);
  h.base_sequence = load_be<std::int32_t>(p + at::base_sequence);
  h.record_count = load_be<std::int32_t>(p + at::record_count);

  // Checked before the magic: a zeroed tail (batchLength 0) is the common case during recovery.
  if (h.batch_length < static_cast<std::int32_t>(batch_header_bytes - at::length_overhead)) {
    return make_error(errc::invalid_batch_length, fmt::format("batchLength {}", h.batch_length));
  }
  if (h.magic != 2) return make_error(errc::unsupported_magic, fmt::format("magic {}", h.magic));
  if (h.record_count < 0 || h.last_offset_delta < 0) {
    return make_error(errc::invalid_record_count,
                      fmt::format("recordCount {}, lastOffsetDelta {}", h.record_count, h.last_offset_delta));
  }
  // The CRC does not cover baseOffset; a damaged one must not make last_offset() overflow.
  if (h.base_offset > std::numeric_limits<std::int64_t>::max() - h.last_offset_delta - 1) {
    return make_error(errc::invalid_batch, fmt::format("baseOffset {} overflows", h.base_offset));
  }
  if (!h.is_compressed() && static_cast<std::int64_t>(h.record_count) > std::int64_t{h.last_offset_delta} + 1) {
    return make_error(errc::invalid_record_count, fmt::format("recordCount {} exceeds lastOffsetDelta {} + 1",
                                                              h.record_count, h.last_offset_delta));
  }
  return h;
}

std::uint32_t compute_batch_crc(std::span<const std::byte> batch) {
  SUBSTRATE_ASSERT(batch.size() >= batch_header_bytes, "batch of {} bytes", batch.size());
  return crc32c(batch.subspan(batch_layout::crc_start));
}

result<batch_header> validate_batch(std::span<const std::byte> bytes) {
  auto h = parse_batch_header(bytes);
  if (!h) return h;
  if (bytes.size() < h->size_bytes()) {
    return make_error(errc::batch_too_short,
                      fmt::format("{} bytes, batchLength announces {}", bytes.size(), h->size_bytes()));
  }
  const std::uint32_t actual = compute_batch_crc(bytes.first(h->size_bytes()));
  if (actual != h->crc) {
    return make_error(errc::crc_mismatch, fmt::format("stored {:#010x}, computed {:#010x}", h->crc, actual));
  }
  return h;
}

result<batch_header> validate_producer_batch(std::span<const std::byte> bytes) {
  auto h = validate_batch(bytes);
  if (!h) return h;
  if (bytes.size() != h->size_bytes()) {
    return make_error(errc::invalid_batch_length,
                      fmt::format("{} bytes for a batch of {}: one batch expected", bytes.size(), h->size_bytes()));
  }
  if (h->record_count <= 0 || std::int64_t{h->last_offset_delta} + 1 != h->record_count) {
    return make_error(errc::invalid_record_count,
                      fmt::format("recordCount {}, lastOffsetDelta {}", h->record_count, h->last_offset_delta));
  }
  if (h->is_control()) return make_error(errc::invalid_batch, "control batches come from the broker, not producers");
  return h;
}

void set_base_offset(std::span<std::byte> batch, std::int64_t base_offset) {
  SUBSTRATE_ASSERT(batch.size() >= batch_header_bytes, "batch of {} bytes", batch.size());
  store_be(batch.data() + batch_layout::base_offset, base_offset);
}

}  // namespace substrate::log
