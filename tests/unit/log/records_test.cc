#include "log/records.h"

#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "log/bytes.h"

namespace substrate::log {
namespace {

TEST(varint, zigzag_encodings_from_the_spec) {
  std::vector<std::byte> out;
  append_varint(out, -1);
  append_varint(out, 1);
  append_varint(out, 2);
  EXPECT_EQ(out, (std::vector<std::byte>{std::byte{1}, std::byte{2}, std::byte{4}}));
}

TEST(varint, round_trips_extremes) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{63}, std::int64_t{-64}, std::int64_t{64},
                         std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    std::vector<std::byte> out;
    append_varlong(out, v);
    std::span<const std::byte> in = out;
    EXPECT_EQ(read_varlong(in), v);
    EXPECT_TRUE(in.empty());
  }
  for (std::int32_t v : {0, -1, std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::min()}) {
    std::vector<std::byte> out;
    append_varint(out, v);
    EXPECT_LE(out.size(), 5u);
    std::span<const std::byte> in = out;
    EXPECT_EQ(read_varint(in), v);
  }
}

TEST(varint, rejects_truncated_and_overlong_input) {
  const std::vector<std::byte> truncated{std::byte{0x80}, std::byte{0x80}};
  std::span<const std::byte> in = truncated;
  EXPECT_FALSE(read_varint(in));
  const std::vector<std::byte> six(6, std::byte{0x80});
  in = six;
  EXPECT_FALSE(read_varint(in));
  // Five bytes whose last one carries more than the 32 bits a varint has.
  const std::vector<std::byte> wide{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                    std::byte{0x1f}};
  in = wide;
  EXPECT_FALSE(read_varint(in));
  const std::vector<std::byte> eleven(11, std::byte{0x80});
  in = eleven;
  EXPECT_FALSE(read_varlong(in));
}

TEST(records, decode_what_the_builder_encodes) {
  const header_view headers[] = {{"h1", "v"}, {"h2", std::nullopt}};
  const auto batch = batch_builder()
                         .add("a", "1", 5000, headers)
                         .add(std::nullopt, "2", 4990)
                         .add("c", std::nullopt, 5100)
                         .add("", "", 5000)
                         .build();
  auto h = validate_producer_batch(batch);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->record_count, 4);
  EXPECT_EQ(h->base_timestamp, 5000);
  EXPECT_EQ(h->max_timestamp, 5100);
  auto records = decode_records(batch);
  ASSERT_TRUE(records) << records.error().message();
  ASSERT_EQ(records->size(), 4u);
  const auto& r = *records;
  EXPECT_EQ(r[0].key, "a");
  EXPECT_EQ(r[0].value, "1");
  ASSERT_EQ(r[0].headers.size(), 2u);
  EXPECT_EQ(r[0].headers[0].key, "h1");
  EXPECT_EQ(r[0].headers[0].value, "v");
  EXPECT_EQ(r[0].headers[1].value, std::nullopt);
  EXPECT_EQ(r[1].key, std::nullopt);
  EXPECT_EQ(r[1].timestamp_delta, -10);
  EXPECT_EQ(r[1].offset_delta, 1);
  EXPECT_EQ(r[2].value, std::nullopt);
  EXPECT_EQ(r[3].key, "");
  EXPECT_EQ(r[3].value, "");
  EXPECT_EQ(r[3].offset_delta, 3);
}

TEST(records, explicit_offset_deltas_and_last_offset_delta) {
  const auto batch = batch_builder().last_offset_delta(9).add("a", "1", 1, {}, 2).add("b", "2", 2, {}, 7).build();
  auto h = validate_batch(batch);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->last_offset_delta, 9);
  EXPECT_EQ(h->record_count, 2);
  auto records = decode_records(batch);
  ASSERT_TRUE(records);
  EXPECT_EQ((*records)[0].offset_delta, 2);
  EXPECT_EQ((*records)[1].offset_delta, 7);
}

// Rewrites one byte of the records area and fixes the CRC, so only the record decoder objects.
std::vector<std::byte> corrupt_record_byte(std::vector<std::byte> batch, std::size_t at, std::byte value) {
  batch[batch_layout::records + at] = value;
  store_be(batch.data() + batch_layout::crc, compute_batch_crc(batch));
  return batch;
}

TEST(records, malformed_records_are_errors) {
  const auto batch = batch_builder().add("k1", "v1", 1).build();
  // Record length (first byte) larger than what is left.
  EXPECT_EQ(decode_records(corrupt_record_byte(batch, 0, std::byte{0x7e})).error().code, errc::corrupt_batch);
  // Key length larger than the record.
  EXPECT_EQ(decode_records(corrupt_record_byte(batch, 4, std::byte{0x40})).error().code, errc::corrupt_batch);
  // Key length -2.
  EXPECT_EQ(decode_records(corrupt_record_byte(batch, 4, std::byte{0x03})).error().code, errc::corrupt_batch);
  // Offset delta beyond lastOffsetDelta.
  EXPECT_EQ(decode_records(corrupt_record_byte(batch, 3, std::byte{0x02})).error().code, errc::corrupt_batch);
  // A two-byte length that decodes negative.
  EXPECT_EQ(decode_records(corrupt_record_byte(batch, 0, std::byte{0xff})).error().code, errc::corrupt_batch);
}

TEST(records, record_count_must_match_the_records) {
  auto batch = batch_builder().add("a", "1", 1).add("b", "2", 2).build();
  store_be<std::int32_t>(batch.data() + batch_layout::record_count, 1);
  EXPECT_EQ(decode_records(batch).error().code, errc::corrupt_batch);  // bytes left over
}

TEST(records, compressed_batches_are_not_decoded) {
  auto batch = batch_builder().add("a", "1", 1).build();
  store_be<std::int16_t>(batch.data() + batch_layout::attributes, 2);
  EXPECT_EQ(decode_records(batch).error().code, errc::compressed_batch);
}

// Not a fuzzer (that lives in fuzz/ with clang), but the same idea on every ASan run: mutated
// batches with a fixed-up CRC reach the record decoder, which must return errors, not crash.
TEST(records, mutated_batches_never_crash_the_decoder) {
  const header_view headers[] = {{"h", "v"}};
  const auto valid = batch_builder().add("key", "value", 1, headers).add(std::nullopt, "x", 2).add("k", "", 3).build();
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    auto batch = valid;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      batch[batch_layout::records + rng() % (batch.size() - batch_layout::records)] = static_cast<std::byte>(rng());
    }
    if (rng() % 4 == 0) batch.resize(batch_layout::records + rng() % (batch.size() - batch_layout::records));
    store_be<std::int32_t>(batch.data() + batch_layout::batch_length,
                           static_cast<std::int32_t>(batch.size() - batch_layout::length_overhead));
    store_be(batch.data() + batch_layout::crc, compute_batch_crc(batch));
    ASSERT_TRUE(validate_batch(batch));
    auto records = decode_records(batch);
    if (records) {
      EXPECT_EQ(records->size(), 3u);
    }
  }
}

}  // namespace
}  // namespace substrate::log
