#include "kafka/protocol/primitives.h"

#include <limits>

#include <gtest/gtest.h>

#include "kafka/protocol/errc.h"
#include "test_bytes.h"

namespace substrate::kafka {
namespace {

using testing::from_hex;
using testing::to_hex;

template <class T>
void expect_error(const result<T>& r, errc code) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, make_error_code(code)) << r.error().message();
}

TEST(kafka_primitives, fixed_width_integers_are_big_endian) {
  writer w;
  w.write_i8(-2);
  w.write_i16(0x1234);
  w.write_u16(0xfedc);
  w.write_i32(-2);
  w.write_i64(0x0102030405060708);
  w.write_bool(true);
  EXPECT_EQ(to_hex(w.data()), "fe 12 34 fe dc ff ff ff fe 01 02 03 04 05 06 07 08 01");
  reader r(w.data());
  EXPECT_EQ(*r.read_i8(), -2);
  EXPECT_EQ(*r.read_i16(), 0x1234);
  EXPECT_EQ(*r.read_u16(), 0xfedc);
  EXPECT_EQ(*r.read_i32(), -2);
  EXPECT_EQ(*r.read_i64(), 0x0102030405060708);
  EXPECT_TRUE(*r.read_bool());
  EXPECT_EQ(r.remaining(), 0u);
  expect_error(r.read_i8(), errc::truncated);
}

TEST(kafka_primitives, float64_and_uuid_round_trip) {
  writer w;
  w.write_f64(-1.5);
  uuid u;
  for (std::size_t i = 0; i < 16; ++i) u.data[i] = static_cast<std::uint8_t>(i * 17);
  w.write_uuid(u);
  reader r(w.data());
  EXPECT_EQ(*r.read_f64(), -1.5);
  EXPECT_EQ(*r.read_uuid(), u);
  expect_error(reader(from_hex("00 01 02")).read_uuid(), errc::truncated);
}

TEST(kafka_primitives, unsigned_varint_boundaries) {
  const std::pair<std::uint32_t, std::string_view> cases[] = {
      {0, "00"},      {1, "01"},        {127, "7f"},         {128, "80 01"},
      {300, "ac 02"}, {16383, "ff 7f"}, {16384, "80 80 01"}, {0xffffffff, "ff ff ff ff 0f"},
  };
  for (const auto& [v, hex] : cases) {
    writer w;
    w.write_unsigned_varint(v);
    EXPECT_EQ(to_hex(w.data()), hex);
    reader r(w.data());
    EXPECT_EQ(*r.read_unsigned_varint(), v);
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(kafka_primitives, zigzag_varint_and_varlong) {
  const std::pair<std::int32_t, std::string_view> cases[] = {
      {0, "00"}, {-1, "01"}, {1, "02"}, {-2, "03"}, {63, "7e"}, {-64, "7f"}, {64, "80 01"},
  };
  for (const auto& [v, hex] : cases) {
    writer w;
    w.write_varint(v);
    EXPECT_EQ(to_hex(w.data()), hex);
    EXPECT_EQ(*reader(w.data()).read_varint(), v);
  }
  for (std::int32_t v : {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()}) {
    writer w;
    w.write_varint(v);
    EXPECT_EQ(*reader(w.data()).read_varint(), v);
  }
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1} << 40,
                         std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    writer w;
    w.write_varlong(v);
    EXPECT_LE(w.size(), 10u);
    EXPECT_EQ(*reader(w.data()).read_varlong(), v);
  }
}

TEST(kafka_primitives, overlong_varints_are_rejected) {
  // Six bytes: the fifth still has the continuation bit.
  expect_error(reader(from_hex("80 80 80 80 80 01")).read_unsigned_varint(), errc::varint_too_long);
  // Five bytes whose last one carries more than the 4 remaining bits.
  expect_error(reader(from_hex("ff ff ff ff 1f")).read_unsigned_varint(), errc::varint_too_long);
  // Eleven bytes for a varlong, and a tenth byte above 1.
  expect_error(reader(from_hex("80 80 80 80 80 80 80 80 80 80 01")).read_unsigned_varlong(), errc::varint_too_long);
  expect_error(reader(from_hex("ff ff ff ff ff ff ff ff ff 02")).read_unsigned_varlong(), errc::varint_too_long);
  EXPECT_EQ(*reader(from_hex("ff ff ff ff ff ff ff ff ff 01")).read_unsigned_varlong(),
            std::numeric_limits<std::uint64_t>::max());
  // Truncated in the middle.
  expect_error(reader(from_hex("80 80")).read_unsigned_varint(), errc::truncated);
  expect_error(reader(bytes{}).read_varint(), errc::truncated);
}

TEST(kafka_primitives, strings_classic_and_compact) {
  writer w;
  ASSERT_TRUE(w.write_string("kafka", encoding::classic));
  ASSERT_TRUE(w.write_string("kafka", encoding::compact));
  ASSERT_TRUE(w.write_nullable_string(std::nullopt, encoding::classic));
  ASSERT_TRUE(w.write_nullable_string(std::nullopt, encoding::compact));
  ASSERT_TRUE(w.write_string("", encoding::compact));
  EXPECT_EQ(to_hex(w.data()), "00 05 6b 61 66 6b 61 06 6b 61 66 6b 61 ff ff 00 01");
  reader r(w.data());
  EXPECT_EQ(*r.read_string(encoding::classic), "kafka");
  EXPECT_EQ(*r.read_nullable_string(encoding::compact), "kafka");
  EXPECT_EQ(*r.read_nullable_string(encoding::classic), std::nullopt);
  expect_error(r.read_string(encoding::compact), errc::null_not_allowed);
  EXPECT_EQ(*r.read_string(encoding::compact), "");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(kafka_primitives, hostile_string_lengths) {
  // -2 is neither a length nor the null marker.
  expect_error(reader(from_hex("ff fe")).read_nullable_string(encoding::classic), errc::invalid_length);
  // Length past the end.
  expect_error(reader(from_hex("00 05 61 62")).read_string(encoding::classic), errc::truncated);
  expect_error(reader(from_hex("06 61")).read_string(encoding::compact), errc::truncated);
  // A compact length above 32767 is refused before looking for the bytes.
  expect_error(reader(from_hex("82 80 02")).read_string(encoding::compact), errc::invalid_length);
  // Strings the classic form cannot express are refused by the writer.
  writer w;
  expect_error(w.write_string(std::string(0x8000, 'x'), encoding::classic), errc::invalid_length);
  EXPECT_TRUE(w.write_string(std::string(0x7fff, 'x'), encoding::classic));
}

TEST(kafka_primitives, bytes_classic_and_compact) {
  writer w;
  const bytes payload = {1, 2, 3};
  w.write_bytes(payload, encoding::classic);
  w.write_bytes(payload, encoding::compact);
  w.write_nullable_bytes(std::nullopt, encoding::classic);
  w.write_nullable_bytes(std::nullopt, encoding::compact);
  EXPECT_EQ(to_hex(w.data()), "00 00 00 03 01 02 03 04 01 02 03 ff ff ff ff 00");
  reader r(w.data());
  EXPECT_EQ(*r.read_bytes(encoding::classic), payload);
  EXPECT_EQ(*r.read_bytes(encoding::compact), payload);
  EXPECT_EQ(*r.read_nullable_bytes(encoding::classic), std::nullopt);
  expect_error(r.read_bytes(encoding::compact), errc::null_not_allowed);
}

TEST(kafka_primitives, hostile_bytes_lengths) {
  expect_error(reader(from_hex("ff ff ff fe")).read_nullable_bytes(encoding::classic), errc::invalid_length);
  expect_error(reader(from_hex("80 00 00 00")).read_bytes(encoding::classic), errc::invalid_length);
  // 2 GiB claimed, 1 byte present: an error, and nothing allocated for it.
  expect_error(reader(from_hex("7f ff ff ff 00")).read_bytes(encoding::classic), errc::truncated);
  expect_error(reader(from_hex("ff ff ff ff 0f")).read_bytes(encoding::compact), errc::invalid_length);
  expect_error(reader(from_hex("ff ff ff ff 07")).read_bytes(encoding::compact), errc::truncated);
}

TEST(kafka_primitives, array_counts_and_their_bounds) {
  writer w;
  w.write_array_count(3, encoding::classic);
  w.write_array_count(-1, encoding::classic);
  w.write_array_count(3, encoding::compact);
  w.write_array_count(-1, encoding::compact);
  EXPECT_EQ(to_hex(w.data()), "00 00 00 03 ff ff ff ff 04 00");
  reader r(w.data());
  EXPECT_EQ(*r.read_array_count(encoding::classic), 3);
  EXPECT_EQ(*r.read_array_count(encoding::classic), -1);
  EXPECT_EQ(*r.read_array_count(encoding::compact), 3);
  EXPECT_EQ(*r.read_array_count(encoding::compact), -1);
  expect_error(reader(from_hex("ff ff ff f0")).read_array_count(encoding::classic), errc::invalid_length);

  // A billion int32 elements cannot fit in 8 bytes.
  const bytes eight(8);
  reader small(eight);
  expect_error(small.check_count(1'000'000'000, 4), errc::truncated);
  EXPECT_TRUE(small.check_count(2, 4));
  expect_error(small.check_count(3, 4), errc::truncated);
  EXPECT_TRUE(small.check_count(8, 0));  // zero-sized elements still count as one byte each
  expect_error(small.check_count(9, 0), errc::truncated);
}

TEST(kafka_primitives, tagged_field_buffers) {
  writer w;
  const tagged_field fields[] = {{0, {0xaa}}, {5, {}}, {300, {1, 2}}};
  w.write_tagged_fields(fields);
  EXPECT_EQ(to_hex(w.data()), "03 00 01 aa 05 00 ac 02 02 01 02");
  reader r(w.data());
  auto read = r.read_tagged_fields();
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[2], fields[2]);
  EXPECT_EQ(*reader(from_hex("00")).read_tagged_fields(), std::vector<tagged_field>{});
  // Tags must be strictly ascending.
  expect_error(reader(from_hex("02 05 00 05 00")).read_tagged_fields(), errc::invalid_tagged_fields);
  expect_error(reader(from_hex("02 05 00 01 00")).read_tagged_fields(), errc::invalid_tagged_fields);
  // A size past the end, and a count that cannot fit.
  expect_error(reader(from_hex("01 00 05 aa")).read_tagged_fields(), errc::truncated);
  expect_error(reader(from_hex("ff ff ff ff 0f")).read_tagged_fields(), errc::truncated);
}

TEST(kafka_primitives, every_truncation_of_a_valid_sequence_fails_cleanly) {
  writer w;
  w.write_i32(7);
  ASSERT_TRUE(w.write_string("topic", encoding::compact));
  w.write_bytes(bytes{1, 2, 3}, encoding::classic);
  w.write_varlong(-123456789);
  const bytes full = w.data();
  for (std::size_t n = 0; n < full.size(); ++n) {
    reader r{std::span(full).first(n)};
    auto a = r.read_i32();
    auto b = a ? r.read_string(encoding::compact) : result<std::string>(tl::unexpected(a.error()));
    auto c = b ? r.read_bytes(encoding::classic) : result<bytes>(tl::unexpected(b.error()));
    auto d = c ? r.read_varlong() : result<std::int64_t>(tl::unexpected(c.error()));
    expect_error(d, errc::truncated);
  }
}

}  // namespace
}  // namespace substrate::kafka
