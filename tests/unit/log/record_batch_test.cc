#include "log/record_batch.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "log/bytes.h"
#include "log/records.h"

namespace substrate::log {
namespace {

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  std::string digits;
  for (char c : hex) {
    if (c != ' ' && c != '\n') digits.push_back(c);
  }
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The spec's verified kcat capture (kafka-compat.md 3.1): key "k1", value "v1", header hk=hv.
const std::vector<std::byte> kcat_batch = from_hex(
    "0000000000000000 00000042 00000000 02 445f6925 0000 00000000 000001a217945db5 000001a217945db5"
    "ffffffffffffffff ffff ffffffff 00000001"
    "20 00 00 00 04 6b31 04 7631 02 04 686b 04 6876");

// Rewrites a field and fixes the CRC, to build batches that are well-formed but for one field.
template <class Int>
std::vector<std::byte> with_field(std::vector<std::byte> batch, std::size_t at, Int value) {
  store_be(batch.data() + at, value);
  store_be(batch.data() + batch_layout::crc, compute_batch_crc(batch));
  return batch;
}

TEST(record_batch, parses_the_kcat_capture) {
  ASSERT_EQ(kcat_batch.size(), 78u);
  auto h = validate_producer_batch(kcat_batch);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->base_offset, 0);
  EXPECT_EQ(h->batch_length, 66);
  EXPECT_EQ(h->size_bytes(), 78u);
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->crc, 0x445f6925u);
  EXPECT_EQ(h->attributes, 0);
  EXPECT_FALSE(h->is_compressed());
  EXPECT_EQ(h->time_type(), timestamp_type::create_time);
  EXPECT_EQ(h->last_offset_delta, 0);
  EXPECT_EQ(h->base_timestamp, 0x1a217945db5);
  EXPECT_EQ(h->max_timestamp, 0x1a217945db5);
  EXPECT_EQ(h->producer_id, -1);
  EXPECT_EQ(h->producer_epoch, -1);
  EXPECT_EQ(h->base_sequence, -1);
  EXPECT_EQ(h->record_count, 1);
}

TEST(record_batch, the_builder_reproduces_the_kcat_capture_byte_for_byte) {
  const header_view headers[] = {{"hk", "hv"}};
  const auto built = batch_builder().add("k1", "v1", 0x1a217945db5, headers).build();
  EXPECT_EQ(built, kcat_batch);
}

TEST(record_batch, rewriting_the_base_offset_keeps_the_crc_valid) {
  auto batch = kcat_batch;
  set_base_offset(batch, 123456789012);
  auto h = validate_batch(batch);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->base_offset, 123456789012);
  EXPECT_EQ(h->last_offset(), 123456789012);
  EXPECT_TRUE(std::equal(batch.begin() + 8, batch.end(), kcat_batch.begin() + 8));
}

TEST(record_batch, too_short_for_a_header) {
  auto h = parse_batch_header(std::span(kcat_batch).first(60));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, errc::batch_too_short);
}

TEST(record_batch, shorter_than_the_announced_length) {
  auto h = validate_batch(std::span(kcat_batch).first(77));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, errc::batch_too_short);
}

TEST(record_batch, batch_length_below_the_header) {
  auto batch = kcat_batch;
  store_be<std::int32_t>(batch.data() + batch_layout::batch_length, 48);
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::invalid_batch_length);
  store_be<std::int32_t>(batch.data() + batch_layout::batch_length, -5);
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::invalid_batch_length);
}

TEST(record_batch, a_zeroed_header_is_an_invalid_length) {
  std::vector<std::byte> zeros(100);
  EXPECT_EQ(parse_batch_header(zeros).error().code, errc::invalid_batch_length);
}

TEST(record_batch, trailing_bytes_after_a_producer_batch) {
  auto batch = kcat_batch;
  batch.push_back(std::byte{0});
  EXPECT_TRUE(validate_batch(batch));
  EXPECT_EQ(validate_producer_batch(batch).error().code, errc::invalid_batch_length);
}

TEST(record_batch, magic_other_than_two) {
  auto batch = kcat_batch;
  batch[batch_layout::magic] = std::byte{1};
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::unsupported_magic);
}

TEST(record_batch, crc_mismatch_on_a_flipped_record_byte) {
  auto batch = kcat_batch;
  batch[70] ^= std::byte{0x01};
  EXPECT_TRUE(parse_batch_header(batch));
  EXPECT_EQ(validate_batch(batch).error().code, errc::crc_mismatch);
}

TEST(record_batch, crc_mismatch_on_a_flipped_attribute_byte) {
  auto batch = kcat_batch;
  batch[batch_layout::max_timestamp + 7] ^= std::byte{0x01};
  EXPECT_EQ(validate_batch(batch).error().code, errc::crc_mismatch);
}

TEST(record_batch, negative_record_count) {
  auto batch = with_field<std::int32_t>(kcat_batch, batch_layout::record_count, -1);
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::invalid_record_count);
}

TEST(record_batch, negative_last_offset_delta) {
  auto batch = with_field<std::int32_t>(kcat_batch, batch_layout::last_offset_delta, -1);
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::invalid_record_count);
}

TEST(record_batch, a_base_offset_that_would_overflow) {
  auto batch = kcat_batch;
  set_base_offset(batch, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::invalid_batch);
}

TEST(record_batch, more_records_than_offsets_when_uncompressed) {
  auto batch = with_field<std::int32_t>(kcat_batch, batch_layout::record_count, 2);
  EXPECT_EQ(parse_batch_header(batch).error().code, errc::invalid_record_count);
}

TEST(record_batch, a_compressed_batch_may_not_be_checked_against_its_records) {
  auto batch = with_field<std::int16_t>(kcat_batch, batch_layout::attributes, 1);
  batch = with_field<std::int32_t>(batch, batch_layout::record_count, 2);
  EXPECT_TRUE(validate_batch(batch));
  // ...but a producer batch must still have lastOffsetDelta + 1 == recordCount.
  EXPECT_EQ(validate_producer_batch(batch).error().code, errc::invalid_record_count);
}

TEST(record_batch, fewer_records_than_offsets_is_a_compacted_batch_not_a_producer_batch) {
  auto batch = with_field<std::int32_t>(kcat_batch, batch_layout::last_offset_delta, 5);
  EXPECT_TRUE(validate_batch(batch));
  EXPECT_EQ(validate_producer_batch(batch).error().code, errc::invalid_record_count);
}

TEST(record_batch, an_empty_producer_batch_is_rejected) {
  const auto batch = batch_builder().build();
  EXPECT_TRUE(validate_batch(batch));
  EXPECT_EQ(validate_producer_batch(batch).error().code, errc::invalid_record_count);
}

TEST(record_batch, control_batches_are_not_accepted_from_producers) {
  auto batch = with_field<std::int16_t>(kcat_batch, batch_layout::attributes, 0x20);
  EXPECT_EQ(validate_producer_batch(batch).error().code, errc::invalid_batch);
}

TEST(record_batch, attribute_accessors) {
  batch_header h;
  h.attributes = 0x3B;  // zstd | LogAppendTime | transactional | control
  EXPECT_EQ(h.compression_id(), 3);
  EXPECT_TRUE(h.is_compressed());
  EXPECT_EQ(h.time_type(), timestamp_type::log_append_time);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_TRUE(h.is_control());
}

// The committed seed corpus of fuzz/record_batch (record_batch_fuzz): each file is a batch the
// fuzzer starts from, with the verdict validate_producer_batch (what Produce runs) gives it.
// The files are generated here; RECORD_BATCH_CORPUS_WRITE=1 rewrites them (after changing a
// seed), and otherwise the test checks that the committed files are exactly these bytes.
struct seed {
  const char* name;
  std::vector<std::byte> bytes;
  std::optional<errc> producer_error;  // nullopt: a valid producer batch
};

std::vector<seed> seeds() {
  std::vector<seed> out;
  out.push_back({"kcat_capture.bin", kcat_batch, std::nullopt});
  const header_view headers[] = {{"trace", std::string_view("abc")}, {"origin", std::nullopt}};
  batch_builder keyed;
  for (int i = 0; i < 5; ++i) keyed.add("key-" + std::to_string(i), "value-" + std::to_string(i), 1000 + i, headers);
  out.push_back({"keyed_with_headers.bin", keyed.build(), std::nullopt});
  out.push_back({"idempotent_producer.bin",
                 batch_builder().producer(7, 0, 42).add("a", "1", 5).add("b", "2", 6).add("c", "3", 7).build(),
                 std::nullopt});
  out.push_back({"tombstone_and_null_key.bin",
                 batch_builder().add("gone", std::nullopt, 1).add(std::nullopt, "no key", 2).build(), std::nullopt});
  auto gzip = batch_builder().add("c1", "x", 1).add("c2", "y", 2).build();
  out.push_back({"compressed_gzip.bin", with_field<std::int16_t>(gzip, batch_layout::attributes, 1), std::nullopt});
  auto bad_crc = kcat_batch;
  bad_crc.back() ^= std::byte{1};
  out.push_back({"bad_crc.bin", bad_crc, errc::crc_mismatch});
  out.push_back(
      {"truncated.bin", std::vector<std::byte>(kcat_batch.begin(), kcat_batch.end() - 5), errc::batch_too_short});
  out.push_back(
      {"wrong_magic.bin", with_field<std::int8_t>(kcat_batch, batch_layout::magic, 1), errc::unsupported_magic});
  out.push_back(
      {"control_batch.bin", with_field<std::int16_t>(kcat_batch, batch_layout::attributes, 0x20), errc::invalid_batch});
  out.push_back({"compacted_gap.bin",
                 batch_builder().add("a", "1", 1, {}, 0).add("b", "2", 2, {}, 3).last_offset_delta(4).build(),
                 errc::invalid_record_count});
  auto two = kcat_batch;
  two.insert(two.end(), kcat_batch.begin(), kcat_batch.end());
  out.push_back({"two_batches.bin", two, errc::invalid_batch_length});
  return out;
}

TEST(record_batch, the_fuzz_seed_corpus_holds_these_batches_and_verdicts) {
  const std::filesystem::path dir = SUBSTRATE_RECORD_BATCH_CORPUS_DIR;
  const char* write = std::getenv("RECORD_BATCH_CORPUS_WRITE");
  for (const auto& s : seeds()) {
    auto verdict = validate_producer_batch(s.bytes);
    if (s.producer_error) {
      ASSERT_FALSE(verdict) << s.name;
      EXPECT_EQ(verdict.error().code, *s.producer_error) << s.name << ": " << verdict.error().message();
    } else {
      EXPECT_TRUE(verdict) << s.name << ": " << verdict.error().message();
    }
    if (write && std::string(write) == "1") {
      std::ofstream(dir / s.name, std::ios::binary)
          .write(reinterpret_cast<const char*>(s.bytes.data()), static_cast<std::streamsize>(s.bytes.size()));
    }
    std::ifstream in(dir / s.name, std::ios::binary);
    ASSERT_TRUE(in) << s.name << " is missing; regenerate with RECORD_BATCH_CORPUS_WRITE=1";
    const std::string committed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(committed, std::string(reinterpret_cast<const char*>(s.bytes.data()), s.bytes.size())) << s.name;
  }
}

}  // namespace
}  // namespace substrate::log
