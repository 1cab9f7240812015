// core::swar against the byte-at-a-time definitions: every byte value at every position of a
// word, among neighbours that sit at the edges of each test (so a borrow or carry leaking from
// one byte into the next would show).
#include "core/swar.h"

#include <array>
#include <cstdint>

#include <gtest/gtest.h>

namespace substrate::core {
namespace {

std::uint64_t word_of(const std::array<unsigned char, 8>& bytes) {
  return swar::load(reinterpret_cast<const char*>(bytes.data()));
}

// Neighbours: the edges of the thresholds used (0x20, 0x7e, 'A', 'Z', '"', '\\'), zero and 0xff.
constexpr std::array<unsigned char, 12> neighbours = {0x00, 0x1f, 0x20, 0x21, 0x40, 'A',
                                                      'Z',  0x5b, 0x7e, 0x7f, 0x80, 0xff};

template <class Check>
void for_every_word(Check check) {
  for (const unsigned char fill : neighbours) {
    for (int position = 0; position < 8; ++position) {
      for (int value = 0; value < 256; ++value) {
        std::array<unsigned char, 8> bytes{};
        bytes.fill(fill);
        bytes[static_cast<std::size_t>(position)] = static_cast<unsigned char>(value);
        check(bytes);
      }
    }
  }
}

TEST(swar, any_below_matches_the_bytewise_test) {
  for (const unsigned char n : {1, 0x20, 0x21, 0x7f, 0x80}) {
    for_every_word([&](const std::array<unsigned char, 8>& bytes) {
      bool expected = false;
      for (const auto b : bytes) expected |= b < n;
      ASSERT_EQ(swar::any_below(word_of(bytes), n) != 0, expected) << "n " << int(n);
    });
  }
}

TEST(swar, any_above_matches_the_bytewise_test) {
  for (const unsigned char n : {0x00, 0x20, 0x7e, 0x7f}) {
    for_every_word([&](const std::array<unsigned char, 8>& bytes) {
      bool expected = false;
      for (const auto b : bytes) expected |= b > n;
      ASSERT_EQ(swar::any_above(word_of(bytes), n) != 0, expected) << "n " << int(n);
    });
  }
}

TEST(swar, any_equal_matches_the_bytewise_test) {
  // NUL, '"', '\\', DEL and 0xff
  for (const unsigned char c : {0x00, 0x22, 0x5c, 0x7f, 0xff}) {
    for_every_word([&](const std::array<unsigned char, 8>& bytes) {
      bool expected = false;
      for (const auto b : bytes) expected |= b == c;
      ASSERT_EQ(swar::any_equal(word_of(bytes), c) != 0, expected) << "c " << int(c);
    });
  }
}

TEST(swar, ascii_lower_lowers_capitals_only) {
  for_every_word([&](const std::array<unsigned char, 8>& bytes) {
    std::array<unsigned char, 8> lowered = bytes;
    for (auto& b : lowered) {
      if (b >= 'A' && b <= 'Z') b = static_cast<unsigned char>(b | 0x20);
    }
    ASSERT_EQ(swar::ascii_lower(word_of(bytes)), word_of(lowered));
  });
}

}  // namespace
}  // namespace substrate::core
