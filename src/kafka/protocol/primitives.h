#pragma once
// Kafka primitive encodings (spec section 1.2; docs/formats/kafka-protocol.md): big-endian
// integers, unsigned and zig-zag varints, classic and compact strings, bytes and array counts,
// uuids and tagged-field buffers.
//
// `reader` reads from a borrowed span and never trusts it: every read is bounds-checked and
// returns an error value for truncated or hostile input (negative lengths other than -1, lengths
// past the end, overlong varints). Nothing is allocated before the bytes it describes are known
// to be present, so the memory a decode uses is bounded by a small multiple of the input size.
// `writer` appends to a byte vector it owns.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace substrate::kafka {

using bytes = std::vector<std::uint8_t>;

struct uuid {
  std::array<std::uint8_t, 16> data{};
  friend bool operator==(const uuid&, const uuid&) = default;
};

// One entry of a tagged-field buffer whose tag the reader did not interpret.
struct tagged_field {
  std::uint32_t tag = 0;
  bytes data;
  friend bool operator==(const tagged_field&, const tagged_field&) = default;
};

// Strings are at most this long on the wire (Kafka's generated code rejects longer ones, and
// the classic form cannot express more).
inline constexpr std::size_t string_bytes_max = 0x7fff;

// Whether variable-length values use the classic (int16/int32 length) or the compact
// (unsigned varint length + 1) form. Compact applies from an API's first flexible version.
enum class encoding { classic, compact };

class reader {
public:
  explicit reader(std::span<const std::uint8_t> data) : data_(data) {}

  [[nodiscard]] std::size_t remaining() const { return data_.size() - position_; }
  [[nodiscard]] std::size_t position() const { return position_; }

  [[nodiscard]] result<std::int8_t> read_i8();
  [[nodiscard]] result<std::int16_t> read_i16();
  [[nodiscard]] result<std::uint16_t> read_u16();
  [[nodiscard]] result<std::int32_t> read_i32();
  [[nodiscard]] result<std::int64_t> read_i64();
  [[nodiscard]] result<double> read_f64();
  // Any non-zero byte is true, as in Kafka's readers.
  [[nodiscard]] result<bool> read_bool();
  [[nodiscard]] result<uuid> read_uuid();

  // Unsigned LEB128, at most 5 bytes (32 bits) / 10 bytes (64 bits).
  [[nodiscard]] result<std::uint32_t> read_unsigned_varint();
  [[nodiscard]] result<std::uint64_t> read_unsigned_varlong();
  // Zig-zag signed forms, as used inside RecordBatch records (spec 3.3).
  [[nodiscard]] result<std::int32_t> read_varint();
  [[nodiscard]] result<std::int64_t> read_varlong();

  // Borrows the next `size` bytes.
  [[nodiscard]] result<std::span<const std::uint8_t>> read_raw(std::size_t size);

  // A string that must not be null; null is errc::null_not_allowed.
  [[nodiscard]] result<std::string> read_string(encoding e);
  [[nodiscard]] result<std::optional<std::string>> read_nullable_string(encoding e);
  [[nodiscard]] result<bytes> read_bytes(encoding e);
  [[nodiscard]] result<std::optional<bytes>> read_nullable_bytes(encoding e);

  // An array's element count; -1 means null. The count is not checked against the remaining
  // bytes here: the caller knows the minimum element size (see `check_count`).
  [[nodiscard]] result<std::int32_t> read_array_count(encoding e);

  // Rejects `count` elements of at least `element_bytes_min` bytes each that cannot fit in the
  // remaining input, before anything is allocated for them.
  [[nodiscard]] result<void> check_count(std::size_t count, std::size_t element_bytes_min) const;

  // Reads a whole tagged-field buffer (count, then tag/size/payload per field), returning every
  // field with its raw payload. Tags must be strictly ascending.
  [[nodiscard]] result<std::vector<tagged_field>> read_tagged_fields();

private:
  // Length prefix of a string (int16 or compact); -1 for null.
  [[nodiscard]] result<std::int32_t> read_string_length(encoding e);
  // Length prefix of bytes (int32 or compact); -1 for null.
  [[nodiscard]] result<std::int32_t> read_bytes_length(encoding e);

  std::span<const std::uint8_t> data_;
  std::size_t position_ = 0;
};

class writer {
public:
  void write_i8(std::int8_t v) { out_.push_back(static_cast<std::uint8_t>(v)); }
  void write_i16(std::int16_t v);
  void write_u16(std::uint16_t v);
  void write_i32(std::int32_t v);
  void write_i64(std::int64_t v);
  void write_f64(double v);
  void write_bool(bool v) { out_.push_back(v ? 1 : 0); }
  void write_uuid(const uuid& v) { write_raw(v.data); }
  void write_unsigned_varint(std::uint32_t v);
  void write_unsigned_varlong(std::uint64_t v);
  void write_varint(std::int32_t v);
  void write_varlong(std::int64_t v);
  void write_raw(std::span<const std::uint8_t> data) { out_.insert(out_.end(), data.begin(), data.end()); }

  // Strings longer than string_bytes_max are errc::invalid_length.
  [[nodiscard]] result<void> write_string(std::string_view v, encoding e);
  [[nodiscard]] result<void> write_nullable_string(const std::optional<std::string>& v, encoding e);
  void write_bytes(std::span<const std::uint8_t> v, encoding e);
  void write_nullable_bytes(const std::optional<bytes>& v, encoding e);
  // `count` -1 writes a null array.
  void write_array_count(std::int32_t count, encoding e);
  // A complete tagged-field buffer; `fields` must be sorted by tag.
  void write_tagged_fields(std::span<const tagged_field> fields);

  [[nodiscard]] const bytes& data() const { return out_; }
  [[nodiscard]] bytes take() { return std::move(out_); }
  [[nodiscard]] std::size_t size() const { return out_.size(); }
  // Overwrites 4 bytes at `position` (used to patch a size prefix once the size is known).
  void patch_i32(std::size_t position, std::int32_t v);

private:
  bytes out_;
};

}  // namespace substrate::kafka
