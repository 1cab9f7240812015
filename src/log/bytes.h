#pragma once
// Big-endian fixed-width integers and Kafka's zig-zag varints (spec kafka-compat.md 3.1, 3.3),
// over std::byte buffers. Decoders take bytes from disk or the network: they return nullopt on
// truncated or over-long input, never assert.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace substrate::log {

namespace detail {
template <class Unsigned>
Unsigned byteswap(Unsigned v) {
  if constexpr (sizeof v == 2) return static_cast<Unsigned>(__builtin_bswap16(v));
  if constexpr (sizeof v == 4) return static_cast<Unsigned>(__builtin_bswap32(v));
  if constexpr (sizeof v == 8) return static_cast<Unsigned>(__builtin_bswap64(v));
  return v;
}
}  // namespace detail

template <class Int>
[[nodiscard]] Int load_be(const std::byte* p) {
  static_assert(std::is_integral_v<Int>);
  std::make_unsigned_t<Int> v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little && sizeof(Int) > 1) v = detail::byteswap(v);
  return static_cast<Int>(v);
}

template <class Int>
void store_be(std::byte* p, Int value) {
  static_assert(std::is_integral_v<Int>);
  auto v = static_cast<std::make_unsigned_t<Int>>(value);
  if constexpr (std::endian::native == std::endian::little && sizeof(Int) > 1) v = detail::byteswap(v);
  std::memcpy(p, &v, sizeof v);
}

template <class Int>
void append_be(std::vector<std::byte>& out, Int value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(Int));
  store_be(out.data() + at, value);
}

// Zig-zag varlong: (n << 1) ^ (n >> 63), then 7-bit groups, least significant first.
inline void append_varlong(std::vector<std::byte>& out, std::int64_t value) {
  auto v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

inline void append_varint(std::vector<std::byte>& out, std::int32_t value) {
  append_varlong(out, value);  // the zig-zag image of an i32 is the same for both widths
}

// Reads a zig-zag varint of at most `bytes_max` bytes from the front of `in` and advances it.
// Rejects truncated input, longer encodings and values that do not fit `bits` bits.
[[nodiscard]] inline std::optional<std::int64_t> read_zigzag(std::span<const std::byte>& in, int bytes_max, int bits) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes_max; ++i) {
    if (static_cast<std::size_t>(i) >= in.size()) return std::nullopt;
    const auto b = std::to_integer<std::uint64_t>(in[static_cast<std::size_t>(i)]);
    const int shift = 7 * i;
    // The last allowed byte may only carry the bits that are left.
    if (shift + 7 > bits && (b & 0x7F) >> (bits - shift) != 0) return std::nullopt;
    v |= (b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      in = in.subspan(static_cast<std::size_t>(i) + 1);
      return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
    }
  }
  return std::nullopt;
}

[[nodiscard]] inline std::optional<std::int32_t> read_varint(std::span<const std::byte>& in) {
  auto v = read_zigzag(in, 5, 32);
  if (!v) return std::nullopt;
  return static_cast<std::int32_t>(*v);
}

[[nodiscard]] inline std::optional<std::int64_t> read_varlong(std::span<const std::byte>& in) {
  return read_zigzag(in, 10, 64);
}

}  // namespace substrate::log
