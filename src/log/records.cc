#include "log/records.h"

#include <algorithm>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/assert.h"
#include "log/bytes.h"

namespace substrate::log {
namespace {

std::span<const std::byte> as_bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

void append_bytes(std::vector<std::byte>& out, std::optional<std::string_view> bytes) {
  if (!bytes) {
    append_varint(out, -1);
    return;
  }
  SUBSTRATE_ASSERT(bytes->size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                   "field of {} bytes", bytes->size());
  append_varint(out, static_cast<std::int32_t>(bytes->size()));
  const auto raw = as_bytes_of(*bytes);
  out.insert(out.end(), raw.begin(), raw.end());
}

// Reads a varint length and that many bytes; -1 is null. Any other negative length is an error.
result<std::optional<std::string_view>> read_nullable(std::span<const std::byte>& in, const char* what) {
  const auto length = read_varint(in);
  if (!length) return make_error(errc::corrupt_batch, fmt::format("malformed {} length", what));
  if (*length == -1) return std::optional<std::string_view>{};
  if (*length < 0 || static_cast<std::size_t>(*length) > in.size()) {
    return make_error(errc::corrupt_batch, fmt::format("{} length {} with {} bytes left", what, *length, in.size()));
  }
  const std::string_view view(reinterpret_cast<const char*>(in.data()), static_cast<std::size_t>(*length));
  in = in.subspan(static_cast<std::size_t>(*length));
  return std::optional<std::string_view>(view);
}

result<record_view> decode_one(std::span<const std::byte> body, std::int32_t last_offset_delta) {
  record_view r;
  if (body.empty()) return make_error(errc::corrupt_batch, "empty record");
  r.attributes = static_cast<std::int8_t>(body[0]);
  body = body.subspan(1);
  const auto timestamp_delta = read_varlong(body);
  const auto offset_delta = read_varint(body);
  if (!timestamp_delta || !offset_delta) return make_error(errc::corrupt_batch, "malformed record delta");
  r.timestamp_delta = *timestamp_delta;
  r.offset_delta = *offset_delta;
  if (r.offset_delta < 0 || r.offset_delta > last_offset_delta) {
    return make_error(errc::corrupt_batch,
                      fmt::format("offsetDelta {} outside [0, {}]", r.offset_delta, last_offset_delta));
  }
  auto key = read_nullable(body, "key");
  if (!key) return tl::unexpected(key.error());
  r.key = *key;
  auto value = read_nullable(body, "value");
  if (!value) return tl::unexpected(value.error());
  r.value = *value;
  const auto header_count = read_varint(body);
  // Each header takes at least two bytes, which bounds the count before we reserve.
  if (!header_count || *header_count < 0 || static_cast<std::size_t>(*header_count) > body.size() / 2) {
    return make_error(errc::corrupt_batch, "malformed header count");
  }
  r.headers.reserve(static_cast<std::size_t>(*header_count));
  for (std::int32_t i = 0; i < *header_count; ++i) {
    auto header_key = read_nullable(body, "header key");
    if (!header_key) return tl::unexpected(header_key.error());
    if (!*header_key) return make_error(errc::corrupt_batch, "null header key");
    auto header_value = read_nullable(body, "header value");
    if (!header_value) return tl::unexpected(header_value.error());
    r.headers.push_back({**header_key, *header_value});
  }
  if (!body.empty()) return make_error(errc::corrupt_batch, fmt::format("{} bytes left in a record", body.size()));
  return r;
}

}  // namespace

result<std::vector<record_view>> decode_records(std::span<const std::byte> batch) {
  auto h = parse_batch_header(batch);
  if (!h) return tl::unexpected(h.error());
  if (h->is_compressed()) return make_error(errc::compressed_batch, fmt::format("codec {}", h->compression_id()));
  if (batch.size() < h->size_bytes()) return make_error(errc::batch_too_short, "records cut short");
  auto in = batch.subspan(batch_layout::records, h->size_bytes() - batch_layout::records);
  std::vector<record_view> records;
  // Each record takes at least 7 bytes, which bounds the count before we reserve.
  records.reserve(std::min(static_cast<std::size_t>(h->record_count), in.size() / 7));
  std::int32_t previous_delta = -1;
  for (std::int32_t i = 0; i < h->record_count; ++i) {
    const auto length = read_varint(in);
    if (!length || *length < 0 || static_cast<std::size_t>(*length) > in.size()) {
      return make_error(errc::corrupt_batch, fmt::format("record {}: malformed length", i));
    }
    auto record = decode_one(in.first(static_cast<std::size_t>(*length)), h->last_offset_delta);
    if (!record) {
      record.error().context = fmt::format("record {}: {}", i, record.error().context);
      return tl::unexpected(record.error());
    }
    if (record->offset_delta <= previous_delta) {
      return make_error(errc::corrupt_batch, fmt::format("record {}: offsetDelta does not increase", i));
    }
    previous_delta = record->offset_delta;
    in = in.subspan(static_cast<std::size_t>(*length));
    records.push_back(std::move(*record));
  }
  if (!in.empty()) return make_error(errc::corrupt_batch, fmt::format("{} bytes after the last record", in.size()));
  return records;
}

batch_builder& batch_builder::base_offset(std::int64_t value) {
  base_offset_ = value;
  return *this;
}

batch_builder& batch_builder::partition_leader_epoch(std::int32_t value) {
  partition_leader_epoch_ = value;
  return *this;
}

batch_builder& batch_builder::producer(std::int64_t id, std::int16_t epoch, std::int32_t base_sequence) {
  producer_id_ = id;
  producer_epoch_ = epoch;
  base_sequence_ = base_sequence;
  return *this;
}

batch_builder& batch_builder::attributes(std::int16_t value) {
  SUBSTRATE_ASSERT((value & 0x7) == 0, "the builder writes uncompressed batches only");
  attributes_ = value;
  return *this;
}

batch_builder& batch_builder::base_timestamp(std::int64_t value) {
  SUBSTRATE_ASSERT(record_count_ == 0, "base_timestamp set after records were added");
  base_timestamp_ = value;
  return *this;
}

batch_builder& batch_builder::max_timestamp(std::int64_t value) {
  max_timestamp_ = value;
  return *this;
}

batch_builder& batch_builder::last_offset_delta(std::int32_t value) {
  last_offset_delta_ = value;
  return *this;
}

batch_builder& batch_builder::add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                                  std::int64_t timestamp_ms, std::span<const header_view> headers,
                                  std::optional<std::int32_t> offset_delta) {
  if (!base_timestamp_) base_timestamp_ = timestamp_ms;
  const std::int32_t delta = offset_delta.value_or(previous_offset_delta_ + 1);
  SUBSTRATE_ASSERT(delta > previous_offset_delta_, "offset delta {} after {}", delta, previous_offset_delta_);
  previous_offset_delta_ = delta;
  max_record_timestamp_ = record_count_ == 0 ? timestamp_ms : std::max(max_record_timestamp_, timestamp_ms);

  // The record body is built in a buffer kept from one add() to the next (its length prefix
  // comes first, so the body cannot be written in place): no allocation per record.
  auto& body = body_scratch_;
  body.clear();
  body.push_back(std::byte{0});  // attributes: unused
  append_varlong(body, static_cast<std::int64_t>(static_cast<std::uint64_t>(timestamp_ms) -
                                                 static_cast<std::uint64_t>(*base_timestamp_)));
  append_varint(body, delta);
  append_bytes(body, key);
  append_bytes(body, value);
  append_varint(body, static_cast<std::int32_t>(headers.size()));
  for (const auto& header : headers) {
    append_bytes(body, header.key);
    append_bytes(body, header.value);
  }
  append_varint(records_, static_cast<std::int32_t>(body.size()));
  records_.insert(records_.end(), body.begin(), body.end());
  ++record_count_;
  return *this;
}

std::vector<std::byte> batch_builder::build() const {
  std::vector<std::byte> out;
  out.reserve(batch_header_bytes + records_.size());
  const std::size_t length = batch_header_bytes - batch_layout::length_overhead + records_.size();
  SUBSTRATE_ASSERT(length <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "batch too large");
  append_be<std::int64_t>(out, base_offset_);
  append_be<std::int32_t>(out, static_cast<std::int32_t>(length));
  append_be<std::int32_t>(out, partition_leader_epoch_);
  append_be<std::int8_t>(out, 2);
  append_be<std::uint32_t>(out, 0);  // CRC, filled in below
  append_be<std::int16_t>(out, attributes_);
  append_be<std::int32_t>(out, last_offset_delta_.value_or(std::max(previous_offset_delta_, 0)));
  append_be<std::int64_t>(out, base_timestamp_.value_or(-1));
  append_be<std::int64_t>(out, max_timestamp_.value_or(record_count_ == 0 ? -1 : max_record_timestamp_));
  append_be<std::int64_t>(out, producer_id_);
  append_be<std::int16_t>(out, producer_epoch_);
  append_be<std::int32_t>(out, base_sequence_);
  append_be<std::int32_t>(out, record_count_);
  out.insert(out.end(), records_.begin(), records_.end());
  store_be(out.data() + batch_layout::crc, compute_batch_crc(out));
  return out;
}

}  // namespace substrate::log
