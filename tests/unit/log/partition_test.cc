#include "log/partition.h"

#include <fstream>

#include <gtest/gtest.h>

#include "log/bytes.h"
#include "test_util.h"

namespace substrate::log {
namespace {

using testing::make_batch;
using testing::temp_dir;

partition_config small_config() {
  partition_config c;
  c.segment_bytes = 4096;
  c.index_interval_bytes = 256;
  c.retention_ms = -1;
  return c;
}

std::unique_ptr<partition> open_partition(const std::filesystem::path& dir, const partition_config& config,
                                          std::int64_t now_ms = 0) {
  auto p = partition::open(dir, config, now_ms);
  EXPECT_TRUE(p) << p.error().message();
  return p ? std::move(*p) : nullptr;
}

TEST(partition, a_new_partition_is_empty) {
  temp_dir dir;
  auto p = open_partition(dir.path() / "orders-0", small_config());
  EXPECT_EQ(p->log_start_offset(), 0);
  EXPECT_EQ(p->next_offset(), 0);
  EXPECT_EQ(p->durable_offset(), 0);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "orders-0" / "00000000000000000000.log"));
  auto empty = p->read(0, 1000);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(partition, append_assigns_offsets_and_reads_back_byte_for_byte) {
  temp_dir dir;
  auto p = open_partition(dir.path(), partition_config{});
  std::vector<std::vector<std::byte>> sent;
  for (int i = 0; i < 5; ++i) {
    auto batch = make_batch(i + 1, "value-" + std::to_string(i));
    sent.push_back(batch);
    auto r = p->append(batch, 0);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->base_offset, i * (i + 1) / 2);
    EXPECT_EQ(r->last_offset, r->base_offset + i);
    // Only baseOffset differs from what the producer sent.
    EXPECT_EQ(load_be<std::int64_t>(batch.data()), r->base_offset);
    EXPECT_TRUE(std::equal(batch.begin() + 8, batch.end(), sent.back().begin() + 8));
    sent.back() = batch;
  }
  EXPECT_EQ(p->next_offset(), 15);
  auto all = p->read(0, 1 << 20);
  ASSERT_TRUE(all) << all.error().message();
  std::vector<std::byte> expected;
  for (const auto& b : sent) expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(*all, expected);
}

TEST(partition, visit_tail_walks_the_newest_whole_segments_in_offset_order) {
  temp_dir dir;
  auto p = open_partition(dir.path(), small_config());
  for (int i = 0; i < 40; ++i) {
    auto batch = make_batch(2, std::string(200, 'v'));
    ASSERT_TRUE(p->append(batch, 0));
  }
  ASSERT_GT(p->segment_count(), 3u);
  auto visited = [&](std::uint64_t bytes_min) {
    std::vector<std::int64_t> offsets;
    auto r = p->visit_tail(bytes_min, [&](std::span<const std::byte> head, const batch_header& h, std::uint64_t) {
      EXPECT_EQ(head.size(), batch_header_bytes);
      offsets.push_back(h.base_offset);
      return true;
    });
    EXPECT_TRUE(r);
    return offsets;
  };
  const auto& active = p->segment_at(p->segment_count() - 1);
  auto tail = visited(1);
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.front(), active.base_offset());
  EXPECT_EQ(tail.back(), p->next_offset() - 2);
  // One byte more than the active segment holds brings in the whole segment before it.
  auto more = visited(active.size_bytes() + 1);
  EXPECT_EQ(more.front(), p->segment_at(p->segment_count() - 2).base_offset());
  auto all = visited(1 << 30);
  ASSERT_EQ(all.size(), 40u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], static_cast<std::int64_t>(2 * i));
}

TEST(partition, reads_from_the_middle_of_a_batch_start_at_that_batch) {
  temp_dir dir;
  auto p = open_partition(dir.path(), partition_config{});
  auto first = make_batch(3, "a");
  auto second = make_batch(4, "b");
  ASSERT_TRUE(p->append(first, 0));
  ASSERT_TRUE(p->append(second, 0));
  for (std::int64_t offset = 3; offset < 7; ++offset) {
    auto r = p->read(offset, 1 << 20);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, second) << offset;
  }
  auto r = p->read(1, 1 << 20);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), first.size() + second.size());
}

TEST(partition, max_bytes_limits_whole_batches_but_returns_at_least_one) {
  temp_dir dir;
  auto p = open_partition(dir.path(), partition_config{});
  auto batch = make_batch(10, std::string(100, 'x'));
  const auto size = batch.size();
  for (int i = 0; i < 3; ++i) {
    auto copy = batch;
    ASSERT_TRUE(p->append(copy, 0));
  }
  EXPECT_EQ(p->read(0, 1)->size(), size);
  EXPECT_EQ(p->read(0, 2 * size - 1)->size(), size);
  EXPECT_EQ(p->read(0, 2 * size)->size(), 2 * size);
  EXPECT_EQ(p->read(0, 1 << 20)->size(), 3 * size);
}

TEST(partition, offsets_outside_the_log_are_out_of_range) {
  temp_dir dir;
  auto p = open_partition(dir.path(), partition_config{});
  auto batch = make_batch(2, "v");
  ASSERT_TRUE(p->append(batch, 0));
  EXPECT_EQ(p->read(3, 100).error().code, errc::offset_out_of_range);
  EXPECT_EQ(p->read(-1, 100).error().code, errc::offset_out_of_range);
  EXPECT_TRUE(p->read(2, 100)->empty());
}

TEST(partition, invalid_batches_are_rejected_and_change_nothing) {
  temp_dir dir;
  auto config = small_config();
  config.batch_bytes_max = 200;
  auto p = open_partition(dir.path(), config);
  auto big = make_batch(20, std::string(50, 'x'));
  EXPECT_EQ(p->append(big, 0).error().code, errc::message_too_large);
  auto corrupt = make_batch(1, "v");
  corrupt.back() ^= std::byte{1};
  EXPECT_EQ(p->append(corrupt, 0).error().code, errc::crc_mismatch);
  std::vector<std::byte> garbage(10);
  EXPECT_EQ(p->append(garbage, 0).error().code, errc::batch_too_short);
  EXPECT_EQ(p->next_offset(), 0);
  EXPECT_EQ(p->segment_at(0).size_bytes(), 0u);
}

TEST(partition, rolls_by_size) {
  temp_dir dir;
  auto p = open_partition(dir.path(), small_config());
  std::int64_t expected_base = 0;
  std::vector<std::int64_t> bases{0};
  for (int i = 0; i < 40; ++i) {
    auto batch = make_batch(4, std::string(60, 'a' + i % 26));
    if (p->segment_at(p->segment_count() - 1).size_bytes() + batch.size() > 4096) bases.push_back(expected_base);
    auto r = p->append(batch, 0);
    ASSERT_TRUE(r);
    expected_base += 4;
  }
  ASSERT_EQ(p->segment_count(), bases.size());
  ASSERT_GT(bases.size(), 3u);
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const auto& s = p->segment_at(i);
    EXPECT_EQ(s.base_offset(), bases[i]);
    EXPECT_LE(s.size_bytes(), 4096u);
    // Rolled segments are trimmed to their content; the active one stays preallocated.
    EXPECT_EQ(std::filesystem::file_size(s.log_path()), i + 1 < bases.size() ? s.size_bytes() : 4096u);
  }
  // Reads cross segment boundaries batch by batch.
  std::int64_t offset = 0;
  while (offset < p->next_offset()) {
    auto r = p->read(offset, 1);
    ASSERT_TRUE(r) << r.error().message();
    auto h = validate_batch(*r);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, offset);
    offset = h->next_offset();
  }
}

TEST(partition, a_batch_larger_than_a_segment_gets_a_segment_of_its_own) {
  temp_dir dir;
  auto config = small_config();
  config.segment_bytes = 1024;
  auto p = open_partition(dir.path(), config);
  auto small = make_batch(1, "v");
  ASSERT_TRUE(p->append(small, 0));
  auto big = make_batch(30, std::string(100, 'x'));
  ASSERT_GT(big.size(), 1024u);
  ASSERT_TRUE(p->append(big, 0));
  EXPECT_EQ(p->segment_count(), 2u);
  EXPECT_EQ(*p->read(1, 10), big);
}

TEST(partition, rolls_by_age) {
  temp_dir dir;
  auto config = small_config();
  config.segment_ms = 1000;
  auto p = open_partition(dir.path(), config, 0);
  auto b1 = make_batch(1, "v");
  ASSERT_TRUE(p->append(b1, 5000));  // the segment's clock starts at its first append
  auto b2 = make_batch(1, "v");
  ASSERT_TRUE(p->append(b2, 5999));
  EXPECT_EQ(p->segment_count(), 1u);
  auto b3 = make_batch(1, "v");
  ASSERT_TRUE(p->append(b3, 6000));
  EXPECT_EQ(p->segment_count(), 2u);
  EXPECT_EQ(p->segment_at(1).base_offset(), 2);
}

TEST(partition, offset_for_timestamp_finds_the_first_record_at_or_after) {
  temp_dir dir;
  auto p = open_partition(dir.path(), small_config());
  // Batches of 4 records at timestamps 1000 + 10 * batch + record.
  for (int i = 0; i < 50; ++i) {
    auto batch = make_batch(4, std::string(40, 'x'), 1000 + 10 * i);
    ASSERT_TRUE(p->append(batch, 0));
  }
  ASSERT_GT(p->segment_count(), 1u);
  // Each answer is the record's offset and its own timestamp, not the one asked for.
  EXPECT_EQ(*p->offset_for_timestamp(0), (timestamp_match{0, 1000}));
  EXPECT_EQ(*p->offset_for_timestamp(1000), (timestamp_match{0, 1000}));
  EXPECT_EQ(*p->offset_for_timestamp(1002), (timestamp_match{2, 1002}));
  EXPECT_EQ(*p->offset_for_timestamp(1004), (timestamp_match{4, 1010}));  // past the first batch's last record
  EXPECT_EQ(*p->offset_for_timestamp(1253), (timestamp_match{103, 1253}));
  EXPECT_EQ(*p->offset_for_timestamp(1255), (timestamp_match{104, 1260}));
  EXPECT_EQ(*p->offset_for_timestamp(1493), (timestamp_match{199, 1493}));
  EXPECT_EQ(*p->offset_for_timestamp(1494), std::nullopt);
}

TEST(partition, a_corrupt_batch_on_disk_is_an_error_on_read) {
  temp_dir dir;
  auto p = open_partition(dir.path(), partition_config{});
  auto b1 = make_batch(2, "first");
  auto b2 = make_batch(2, "second");
  ASSERT_TRUE(p->append(b1, 0));
  ASSERT_TRUE(p->append(b2, 0));
  {
    // Flip a byte inside the second batch's records behind the partition's back.
    std::fstream f(p->segment_at(0).log_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(b1.size() + b2.size() - 3));
    f.put('!');
  }
  EXPECT_EQ(*p->read(0, 1), b1);
  auto r = p->read(2, 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corrupt_batch);
  EXPECT_EQ(p->read(0, 1 << 20).error().code, errc::corrupt_batch);
}

TEST(partition, invalid_config_is_rejected) {
  temp_dir dir;
  partition_config c;
  c.segment_bytes = std::int64_t{1} << 40;
  EXPECT_EQ(partition::open(dir.path(), c, 0).error().code, errc::invalid_config);
  c = partition_config{};
  c.retention_ms = -2;
  EXPECT_EQ(partition::open(dir.path(), c, 0).error().code, errc::invalid_config);
}

}  // namespace
}  // namespace substrate::log
