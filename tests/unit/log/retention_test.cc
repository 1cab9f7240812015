#include <gtest/gtest.h>

#include "log/partition.h"
#include "test_util.h"

namespace substrate::log {
namespace {

using testing::make_batch;
using testing::temp_dir;

partition_config retention_config() {
  partition_config c;
  c.segment_bytes = 2048;
  c.index_interval_bytes = 256;
  c.retention_ms = -1;
  c.retention_bytes = -1;
  return c;
}

// Appends batches of 4 records; batch i has timestamps 1000 * i + [0, 4).
void fill(partition& p, int batches) {
  for (int i = 0; i < batches; ++i) {
    auto batch = make_batch(4, std::string(50, 'r'), 1000 * i);
    ASSERT_TRUE(p.append(batch, 0));
  }
}

TEST(retention, by_bytes_deletes_the_oldest_segments_but_keeps_at_least_the_limit) {
  temp_dir dir;
  auto config = retention_config();
  config.retention_bytes = 5000;
  auto p = std::move(*partition::open(dir.path(), config, 0));
  fill(*p, 100);
  const auto segments_before = p->segment_count();
  ASSERT_GT(segments_before, 5u);
  const auto first_log = p->segment_at(0).log_path();
  auto r = p->enforce_retention(0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GT(r->segments_deleted, 0u);
  EXPECT_EQ(p->segment_count(), segments_before - r->segments_deleted);
  EXPECT_GE(p->size_bytes(), 5000u);
  EXPECT_LT(p->size_bytes() - p->segment_at(0).size_bytes(), 5000u);
  EXPECT_EQ(p->log_start_offset(), p->segment_at(0).base_offset());
  EXPECT_FALSE(std::filesystem::exists(first_log));
  EXPECT_EQ(p->read(0, 100).error().code, errc::offset_out_of_range);
  EXPECT_TRUE(p->read(p->log_start_offset(), 100));
  // Idempotent.
  EXPECT_EQ(p->enforce_retention(0)->segments_deleted, 0u);
  // The start offset survives a reopen (it is the first segment's base).
  const auto start = p->log_start_offset();
  p.reset();
  p = std::move(*partition::open(dir.path(), config, 0));
  EXPECT_EQ(p->log_start_offset(), start);
  EXPECT_EQ(p->next_offset(), 400);
}

TEST(retention, by_time_deletes_segments_whose_newest_batch_is_too_old) {
  temp_dir dir;
  auto config = retention_config();
  config.retention_ms = 10'000;
  auto p = std::move(*partition::open(dir.path(), config, 0));
  fill(*p, 100);
  ASSERT_GT(p->segment_count(), 5u);
  // At now = 60'003 every batch with timestamps up to 50'003 is too old.
  auto r = p->enforce_retention(60'003);
  ASSERT_TRUE(r);
  EXPECT_GT(r->segments_deleted, 0u);
  EXPECT_GE(p->segment_at(0).max_timestamp(), 50'004);
  EXPECT_LE(p->log_start_offset(), 51 * 4);
  // Far in the future everything but the active segment goes.
  r = p->enforce_retention(1'000'000'000);
  ASSERT_TRUE(r);
  EXPECT_EQ(p->segment_count(), 1u);
  EXPECT_EQ(p->log_start_offset(), p->segment_at(0).base_offset());
  EXPECT_EQ(p->next_offset(), 400);
}

TEST(retention, unlimited_keeps_everything_and_compacted_topics_are_left_alone) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path() / "a", retention_config(), 0));
  fill(*p, 50);
  EXPECT_EQ(p->enforce_retention(1'000'000'000)->segments_deleted, 0u);

  auto config = retention_config();
  config.retention_bytes = 0;
  config.retention_ms = 0;
  config.cleanup = cleanup_policy::compact;
  auto q = std::move(*partition::open(dir.path() / "b", config, 0));
  fill(*q, 50);
  EXPECT_EQ(q->enforce_retention(1'000'000'000)->segments_deleted, 0u);
  EXPECT_EQ(q->log_start_offset(), 0);
}

}  // namespace
}  // namespace substrate::log
