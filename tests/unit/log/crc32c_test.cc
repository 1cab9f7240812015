#include "log/crc32c.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace substrate::log {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

struct vector_case {
  std::string input;
  std::uint32_t crc;
};

// Known answers: the spec's vector and RFC 3720 (iSCSI) B.4.
std::vector<vector_case> known_vectors() {
  return {{"123456789", 0xE3069283},
          {"", 0x00000000},
          {std::string(32, '\0'), 0x8A9136AA},
          {std::string(32, '\xff'), 0x62A8AB43}};
}

TEST(crc32c, portable_matches_known_vectors) {
  for (const auto& v : known_vectors())
    EXPECT_EQ(crc32c_extend_portable(0, bytes_of(v.input)), v.crc) << v.input.size();
}

TEST(crc32c, hardware_matches_known_vectors) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  for (const auto& v : known_vectors())
    EXPECT_EQ(crc32c_extend_hardware(0, bytes_of(v.input)), v.crc) << v.input.size();
}

TEST(crc32c, dispatch_matches_the_spec_vector) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST(crc32c, extend_equals_whole_and_implementations_agree_on_every_length_and_alignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t length = 0; start + length <= data.size(); length += 7) {
      const auto part = bytes_of(std::string_view(data).substr(start, length));
      const auto portable = crc32c_extend_portable(0, part);
      if (crc32c_hardware_available()) {
        ASSERT_EQ(crc32c_extend_hardware(0, part), portable);
      }
      const auto split = length / 3;
      ASSERT_EQ(crc32c_extend(crc32c(part.first(split)), part.subspan(split)), portable);
    }
  }
}

}  // namespace
}  // namespace substrate::log
