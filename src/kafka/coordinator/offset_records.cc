#include "kafka/coordinator/offset_records.h"

#include <fmt/format.h>

#include "log/errc.h"
#include "log/record_batch.h"
#include "log/records.h"

namespace substrate::kafka::coordinator {
namespace {

constexpr std::int16_t key_version = 1;
constexpr std::int16_t value_version = 3;

class writer {
public:
  void i16(std::int16_t v) { big_endian(static_cast<std::uint64_t>(static_cast<std::uint16_t>(v)), 2); }
  void i32(std::int32_t v) { big_endian(static_cast<std::uint64_t>(static_cast<std::uint32_t>(v)), 4); }
  void i64(std::int64_t v) { big_endian(static_cast<std::uint64_t>(v), 8); }
  // Kafka's classic string: int16 length, then the bytes. Longer strings never reach here
  // (group ids and topic names come from int16-length wire strings; metadata is capped).
  void str(std::string_view s) {
    i16(static_cast<std::int16_t>(s.size()));
    for (char c : s) out.push_back(static_cast<std::byte>(c));
  }
  std::vector<std::byte> out;

private:
  void big_endian(std::uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
};

class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  bool i16(std::int16_t& v) {
    std::uint64_t raw = 0;
    if (!big_endian(raw, 2)) return false;
    v = static_cast<std::int16_t>(static_cast<std::uint16_t>(raw));
    return true;
  }
  bool i32(std::int32_t& v) {
    std::uint64_t raw = 0;
    if (!big_endian(raw, 4)) return false;
    v = static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t raw = 0;
    if (!big_endian(raw, 8)) return false;
    v = static_cast<std::int64_t>(raw);
    return true;
  }
  bool str(std::string& s) {
    std::int16_t length = 0;
    if (!i16(length) || length < 0 || static_cast<std::size_t>(length) > in_.size() - position_) return false;
    s.assign(in_.substr(position_, static_cast<std::size_t>(length)));
    position_ += static_cast<std::size_t>(length);
    return true;
  }

private:
  bool big_endian(std::uint64_t& v, std::size_t width) {
    if (in_.size() - position_ < width) return false;
    v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(in_[position_ + i]);
    position_ += width;
    return true;
  }
  std::string_view in_;
  std::size_t position_ = 0;
};

std::string_view as_view(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// nullopt: not an offset key (group metadata, or a version we do not know).
std::optional<offset_key> decode_key(std::string_view bytes) {
  reader in(bytes);
  std::int16_t version = 0;
  if (!in.i16(version) || (version != 0 && version != 1)) return std::nullopt;
  offset_key key;
  if (!in.str(key.group_id) || !in.str(key.partition.first) || !in.i32(key.partition.second)) return std::nullopt;
  return key;
}

std::optional<committed_offset> decode_value(std::string_view bytes) {
  reader in(bytes);
  std::int16_t version = 0;
  committed_offset v;
  if (!in.i16(version) || version < 0 || version > 3 || !in.i64(v.offset)) return std::nullopt;
  if (version == 3 && !in.i32(v.leader_epoch)) return std::nullopt;
  if (!in.str(v.metadata) || !in.i64(v.commit_timestamp_ms)) return std::nullopt;
  return v;  // v1's expire timestamp, if present, is ignored (Kafka ignores it too)
}

}  // namespace

std::vector<std::byte> encode_offset_key(const offset_key& key) {
  writer out;
  out.i16(key_version);
  out.str(key.group_id);
  out.str(key.partition.first);
  out.i32(key.partition.second);
  return std::move(out.out);
}

std::vector<std::byte> encode_offset_value(const committed_offset& value) {
  writer out;
  out.i16(value_version);
  out.i64(value.offset);
  out.i32(value.leader_epoch);
  out.str(value.metadata);
  out.i64(value.commit_timestamp_ms);
  return std::move(out.out);
}

std::vector<std::byte> build_offset_batch(const std::vector<offset_record>& records, std::int64_t now_ms) {
  log::batch_builder builder;
  for (const auto& r : records) {
    const auto key = encode_offset_key(r.key);
    if (r.value) {
      const auto value = encode_offset_value(*r.value);
      builder.add(as_view(key), as_view(value), now_ms);
    } else {
      builder.add(as_view(key), std::nullopt, now_ms);
    }
  }
  return builder.build();
}

result<std::vector<replayed_record>> decode_offset_batches(std::span<const std::byte> batches, replay_stats& stats) {
  std::vector<replayed_record> out;
  std::size_t position = 0;
  while (position < batches.size()) {
    auto rest = batches.subspan(position);
    auto header = log::validate_batch(rest);
    if (!header) return tl::unexpected(header.error());
    const auto batch = rest.first(header->size_bytes());
    position += header->size_bytes();
    stats.next_offset = header->next_offset();
    if (header->is_control()) continue;
    auto records = log::decode_records(batch);
    if (!records) return tl::unexpected(records.error());
    for (const auto& r : *records) {
      ++stats.records;
      std::optional<offset_key> key = r.key ? decode_key(*r.key) : std::nullopt;
      if (!key) {
        ++stats.skipped;
        continue;
      }
      replayed_record rr;
      rr.record.key = std::move(*key);
      rr.log_offset = header->base_offset + r.offset_delta;
      if (r.value) {
        rr.record.value = decode_value(*r.value);
        if (!rr.record.value) {
          ++stats.skipped;
          continue;
        }
      }
      out.push_back(std::move(rr));
    }
  }
  return out;
}

}  // namespace substrate::kafka::coordinator
