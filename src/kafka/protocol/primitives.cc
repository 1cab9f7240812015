#include "kafka/protocol/primitives.h"

#include <bit>
#include <cstring>

#include "kafka/protocol/errc.h"

namespace substrate::kafka {

namespace {

template <class T>
T load_big_endian(const std::uint8_t* p) {
  using unsigned_type = std::make_unsigned_t<T>;
  unsigned_type v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<unsigned_type>((v << 8) | p[i]);
  return static_cast<T>(v);
}

template <class T>
void store_big_endian(bytes& out, T value) {
  using unsigned_type = std::make_unsigned_t<T>;
  const auto v = static_cast<unsigned_type>(value);
  for (std::size_t i = sizeof(T); i > 0; --i) out.push_back(static_cast<std::uint8_t>(v >> ((i - 1) * 8)));
}

}  // namespace

result<std::span<const std::uint8_t>> reader::read_raw(std::size_t size) {
  if (size > remaining()) return make_error(errc::truncated);
  auto out = data_.subspan(position_, size);
  position_ += size;
  return out;
}

namespace {

template <class T>
result<T> read_fixed(reader& r) {
  auto raw = r.read_raw(sizeof(T));
  if (!raw) return tl::unexpected(std::move(raw.error()));
  return load_big_endian<T>(raw->data());
}

result<std::uint64_t> read_unsigned_leb128(reader& r, std::size_t bytes_max, unsigned bits) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes_max; ++i) {
    auto b = r.read_i8();
    if (!b) return tl::unexpected(std::move(b.error()));
    const auto byte = static_cast<std::uint8_t>(*b);
    const unsigned shift = static_cast<unsigned>(i) * 7;
    // The last byte may only carry the bits that are left; more would silently overflow.
    if (i + 1 == bytes_max && (byte >> (bits - shift)) != 0) return make_error(errc::varint_too_long);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return make_error(errc::varint_too_long);
}

}  // namespace

result<std::int8_t> reader::read_i8() {
  return read_fixed<std::int8_t>(*this);
}
result<std::int16_t> reader::read_i16() {
  return read_fixed<std::int16_t>(*this);
}
result<std::uint16_t> reader::read_u16() {
  return read_fixed<std::uint16_t>(*this);
}
result<std::int32_t> reader::read_i32() {
  return read_fixed<std::int32_t>(*this);
}
result<std::int64_t> reader::read_i64() {
  return read_fixed<std::int64_t>(*this);
}

result<double> reader::read_f64() {
  auto v = read_i64();
  if (!v) return tl::unexpected(std::move(v.error()));
  return std::bit_cast<double>(*v);
}

result<bool> reader::read_bool() {
  auto v = read_i8();
  if (!v) return tl::unexpected(std::move(v.error()));
  return *v != 0;
}

result<uuid> reader::read_uuid() {
  auto raw = read_raw(16);
  if (!raw) return tl::unexpected(std::move(raw.error()));
  uuid out;
  std::memcpy(out.data.data(), raw->data(), 16);
  return out;
}

result<std::uint32_t> reader::read_unsigned_varint() {
  auto v = read_unsigned_leb128(*this, 5, 32);
  if (!v) return tl::unexpected(std::move(v.error()));
  return static_cast<std::uint32_t>(*v);
}

result<std::uint64_t> reader::read_unsigned_varlong() {
  return read_unsigned_leb128(*this, 10, 64);
}

result<std::int32_t> reader::read_varint() {
  auto v = read_unsigned_varint();
  if (!v) return tl::unexpected(std::move(v.error()));
  return static_cast<std::int32_t>((*v >> 1) ^ (~(*v & 1) + 1));
}

result<std::int64_t> reader::read_varlong() {
  auto v = read_unsigned_varlong();
  if (!v) return tl::unexpected(std::move(v.error()));
  return static_cast<std::int64_t>((*v >> 1) ^ (~(*v & 1) + 1));
}

result<std::int32_t> reader::read_string_length(encoding e) {
  if (e == encoding::classic) {
    auto n = read_i16();
    if (!n) return tl::unexpected(std::move(n.error()));
    if (*n < -1) return make_error(errc::invalid_length, "string length " + std::to_string(*n));
    return *n;
  }
  auto n = read_unsigned_varint();
  if (!n) return tl::unexpected(std::move(n.error()));
  if (*n == 0) return -1;
  if (*n - 1 > string_bytes_max) return make_error(errc::invalid_length, "string length " + std::to_string(*n - 1));
  return static_cast<std::int32_t>(*n - 1);
}

result<std::int32_t> reader::read_bytes_length(encoding e) {
  if (e == encoding::classic) {
    auto n = read_i32();
    if (!n) return tl::unexpected(std::move(n.error()));
    if (*n < -1) return make_error(errc::invalid_length, "bytes length " + std::to_string(*n));
    return *n;
  }
  auto n = read_unsigned_varint();
  if (!n) return tl::unexpected(std::move(n.error()));
  if (*n == 0) return -1;
  if (*n - 1 > static_cast<std::uint32_t>(INT32_MAX)) {
    return make_error(errc::invalid_length, "bytes length " + std::to_string(*n - 1));
  }
  return static_cast<std::int32_t>(*n - 1);
}

result<std::optional<std::string>> reader::read_nullable_string(encoding e) {
  auto n = read_string_length(e);
  if (!n) return tl::unexpected(std::move(n.error()));
  if (*n == -1) return std::optional<std::string>();
  auto raw = read_raw(static_cast<std::size_t>(*n));
  if (!raw) return tl::unexpected(std::move(raw.error()));
  return std::optional<std::string>(std::in_place, reinterpret_cast<const char*>(raw->data()), raw->size());
}

result<std::string> reader::read_string(encoding e) {
  auto s = read_nullable_string(e);
  if (!s) return tl::unexpected(std::move(s.error()));
  if (!*s) return make_error(errc::null_not_allowed, "string");
  return std::move(**s);
}

result<std::optional<bytes>> reader::read_nullable_bytes(encoding e) {
  auto n = read_bytes_length(e);
  if (!n) return tl::unexpected(std::move(n.error()));
  if (*n == -1) return std::optional<bytes>();
  auto raw = read_raw(static_cast<std::size_t>(*n));
  if (!raw) return tl::unexpected(std::move(raw.error()));
  return std::optional<bytes>(std::in_place, raw->begin(), raw->end());
}

result<bytes> reader::read_bytes(encoding e) {
  auto b = read_nullable_bytes(e);
  if (!b) return tl::unexpected(std::move(b.error()));
  if (!*b) return make_error(errc::null_not_allowed, "bytes");
  return std::move(**b);
}

result<std::int32_t> reader::read_array_count(encoding e) {
  // Same length conventions as bytes: int32 with -1 for null, or compact N+1 with 0 for null.
  return read_bytes_length(e);
}

result<void> reader::check_count(std::size_t count, std::size_t element_bytes_min) const {
  if (element_bytes_min == 0) element_bytes_min = 1;
  if (count > remaining() / element_bytes_min) {
    return make_error(errc::truncated,
                      std::to_string(count) + " elements cannot fit in " + std::to_string(remaining()) + " bytes");
  }
  return {};
}

result<std::vector<tagged_field>> reader::read_tagged_fields() {
  auto count = read_unsigned_varint();
  if (!count) return tl::unexpected(std::move(count.error()));
  // Each field takes at least two bytes (tag and size).
  if (auto fits = check_count(*count, 2); !fits) return tl::unexpected(std::move(fits.error()));
  std::vector<tagged_field> out;
  out.reserve(*count);
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto tag = read_unsigned_varint();
    if (!tag) return tl::unexpected(std::move(tag.error()));
    if (!out.empty() && *tag <= out.back().tag) {
      return make_error(errc::invalid_tagged_fields,
                        "tag " + std::to_string(*tag) + " after tag " + std::to_string(out.back().tag));
    }
    auto size = read_unsigned_varint();
    if (!size) return tl::unexpected(std::move(size.error()));
    auto raw = read_raw(*size);
    if (!raw) return tl::unexpected(std::move(raw.error()));
    out.push_back(tagged_field{*tag, bytes(raw->begin(), raw->end())});
  }
  return out;
}

void writer::write_i16(std::int16_t v) {
  store_big_endian(out_, v);
}
void writer::write_u16(std::uint16_t v) {
  store_big_endian(out_, v);
}
void writer::write_i32(std::int32_t v) {
  store_big_endian(out_, v);
}
void writer::write_i64(std::int64_t v) {
  store_big_endian(out_, v);
}
void writer::write_f64(double v) {
  store_big_endian(out_, std::bit_cast<std::int64_t>(v));
}

void writer::write_unsigned_varlong(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<std::uint8_t>(v));
}

void writer::write_unsigned_varint(std::uint32_t v) {
  write_unsigned_varlong(v);
}

void writer::write_varint(std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  write_unsigned_varint((u << 1) ^ static_cast<std::uint32_t>(v >> 31));
}

void writer::write_varlong(std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  write_unsigned_varlong((u << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

result<void> writer::write_nullable_string(const std::optional<std::string>& v, encoding e) {
  if (!v) {
    if (e == encoding::classic) {
      write_i16(-1);
    } else {
      write_unsigned_varint(0);
    }
    return {};
  }
  return write_string(*v, e);
}

result<void> writer::write_string(std::string_view v, encoding e) {
  if (v.size() > string_bytes_max) {
    return make_error(errc::invalid_length, "string of " + std::to_string(v.size()) + " bytes");
  }
  if (e == encoding::classic) {
    write_i16(static_cast<std::int16_t>(v.size()));
  } else {
    write_unsigned_varint(static_cast<std::uint32_t>(v.size() + 1));
  }
  write_raw({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()});
  return {};
}

void writer::write_bytes(std::span<const std::uint8_t> v, encoding e) {
  write_array_count(static_cast<std::int32_t>(v.size()), e);
  write_raw(v);
}

void writer::write_nullable_bytes(const std::optional<bytes>& v, encoding e) {
  if (!v) {
    write_array_count(-1, e);
  } else {
    write_bytes(*v, e);
  }
}

void writer::write_array_count(std::int32_t count, encoding e) {
  if (e == encoding::classic) {
    write_i32(count);
  } else {
    write_unsigned_varint(static_cast<std::uint32_t>(count + 1));
  }
}

void writer::write_tagged_fields(std::span<const tagged_field> fields) {
  write_unsigned_varint(static_cast<std::uint32_t>(fields.size()));
  for (const auto& f : fields) {
    write_unsigned_varint(f.tag);
    write_unsigned_varint(static_cast<std::uint32_t>(f.data.size()));
    write_raw(f.data);
  }
}

void writer::patch_i32(std::size_t position, std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  for (std::size_t i = 0; i < 4; ++i) out_[position + i] = static_cast<std::uint8_t>(u >> ((3 - i) * 8));
}

}  // namespace substrate::kafka
