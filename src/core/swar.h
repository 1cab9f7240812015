#pragma once
// Eight bytes at a time in a 64-bit word ("SIMD within a register"), for the scans that run on
// every request over mostly plain ASCII: header names and values, bearer tokens, JSON strings.
// The tests are the classic ones (Hacker's Delight; Anderson's "Bit Twiddling Hacks"): each
// answers "is there such a byte in the word", exactly, and the caller then looks at the bytes
// of a word that answered yes one by one. Byte order does not matter to any of them.

#include <cstdint>
#include <cstring>

namespace substrate::core::swar {

inline constexpr std::uint64_t ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t highs = 0x8080808080808080ULL;

// The eight bytes at `p`, any alignment.
inline std::uint64_t load(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// Nonzero when some byte of `word` is below `n` (n <= 0x80).
constexpr std::uint64_t any_below(std::uint64_t word, unsigned char n) {
  return (word - ones * n) & ~word & highs;
}

// Nonzero when some byte of `word` is above `n` (n < 0x80); bytes >= 0x80 count as above.
constexpr std::uint64_t any_above(std::uint64_t word, unsigned char n) {
  return ((word + ones * (127 - n)) | word) & highs;
}

// Nonzero when some byte of `word` equals `c`.
constexpr std::uint64_t any_equal(std::uint64_t word, unsigned char c) {
  return any_below(word ^ (ones * c), 1);
}

// The word with its ASCII capitals ('A'..'Z') lower-cased and every other byte unchanged.
constexpr std::uint64_t ascii_lower(std::uint64_t word) {
  const std::uint64_t low7 = word & ~highs;  // no carry can cross a byte below
  const std::uint64_t from_a = low7 + ones * (0x80 - 'A');
  const std::uint64_t past_z = low7 + ones * (0x80 - 'Z' - 1);
  const std::uint64_t capitals = from_a & ~past_z & ~word & highs;
  return word | (capitals >> 2);  // 0x80 -> 0x20 in the same byte
}

}  // namespace substrate::core::swar
