// The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body.
#include "avro/confluent.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/errc.h"
#include "avro_test_util.h"

namespace substrate::avro {
namespace {

TEST(avro_confluent, header_round_trip) {
  std::string framed;
  append_confluent_header(framed, 0x01020304);
  framed += "\x02\x61";
  EXPECT_EQ(test::to_hex(framed), "00010203040261");
  auto bytes = test::from_hex(test::to_hex(framed));
  auto frame = parse_confluent_frame(bytes);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->schema_id, 0x01020304);
  EXPECT_EQ(frame->body.size(), 2u);
  EXPECT_EQ(frame->body[1], 0x61);
}

TEST(avro_confluent, ids_use_all_32_bits) {
  std::string framed;
  append_confluent_header(framed, 2147483647);
  EXPECT_EQ(test::to_hex(framed), "007fffffff");
  auto bytes = test::from_hex("007fffffff");
  EXPECT_EQ(parse_confluent_frame(bytes)->schema_id, 2147483647);
  EXPECT_TRUE(parse_confluent_frame(bytes)->body.empty()) << "an empty body is a null-schema datum";
}

TEST(avro_confluent, short_values_and_other_magic_bytes_are_invalid) {
  for (const char* hex : {"", "00", "00000001", "0100000001", "ff0000000100"}) {
    auto bytes = test::from_hex(hex);
    auto frame = parse_confluent_frame(bytes);
    ASSERT_FALSE(frame) << hex;
    EXPECT_EQ(frame.error().code, errc::invalid_framing);
  }
}

}  // namespace
}  // namespace substrate::avro
