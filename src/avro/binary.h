#pragma once
// Avro binary primitives (specification, "Binary Encoding"): zig-zag varints for int and long,
// little-endian IEEE 754 floats, length-prefixed bytes and strings. Reading is bounds-checked:
// a varint longer than 10 bytes or overflowing 64 bits is malformed, never read past the end.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace substrate::avro {

inline void write_long(std::string& out, std::int64_t value) {
  auto n = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  char buf[10];
  std::size_t len = 0;
  while (n >= 0x80) {
    buf[len++] = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  buf[len++] = static_cast<char>(n);
  out.append(buf, len);
}

inline void write_float(std::string& out, float value) {
  static_assert(std::endian::native == std::endian::little, "Avro floats are little-endian");
  char buf[4];
  std::memcpy(buf, &value, 4);
  out.append(buf, 4);
}

inline void write_double(std::string& out, double value) {
  char buf[8];
  std::memcpy(buf, &value, 8);
  out.append(buf, 8);
}

inline void write_bytes(std::string& out, std::string_view bytes) {
  write_long(out, static_cast<std::int64_t>(bytes.size()));
  out.append(bytes);
}

enum class read_status : std::uint8_t { ok, truncated, malformed };

// A cursor over Avro bytes. Every read checks the remaining length first.
struct byte_reader {
  const std::uint8_t* pos;
  const std::uint8_t* end;

  std::size_t remaining() const { return static_cast<std::size_t>(end - pos); }

  read_status read_long(std::int64_t& value) {
    std::uint64_t n = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos == end) return read_status::truncated;
      std::uint8_t b = *pos++;
      // The tenth byte may carry one bit only; more would overflow 64 bits.
      if (shift == 63 && b > 1) return read_status::malformed;
      n |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        value = static_cast<std::int64_t>((n >> 1) ^ (~(n & 1) + 1));
        return read_status::ok;
      }
    }
    return read_status::malformed;
  }

  read_status read_fixed(std::size_t len, const std::uint8_t*& data) {
    if (remaining() < len) return read_status::truncated;
    data = pos;
    pos += len;
    return read_status::ok;
  }
};

}  // namespace substrate::avro
