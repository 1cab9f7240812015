// Start-up recovery: torn tails, garbage, zeroed preallocation, lost or corrupt indexes and
// compaction leftovers. A partition object destroyed without any shutdown step is what a
// crashed process leaves: its writes are in the page cache, visible to the next open.

#include <fstream>

#include <gtest/gtest.h>

#include "log/partition.h"
#include "test_util.h"

namespace substrate::log {
namespace {

using testing::make_batch;
using testing::temp_dir;

partition_config config_for_recovery() {
  partition_config c;
  c.segment_bytes = 64 << 10;
  c.index_interval_bytes = 200;
  c.retention_ms = -1;
  return c;
}

struct written {
  std::vector<std::vector<std::byte>> batches;  // as stored, with offsets assigned
  std::vector<std::byte> all() const {
    std::vector<std::byte> out;
    for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
};

written fill(partition& p, int batches) {
  written w;
  for (int i = 0; i < batches; ++i) {
    auto batch = make_batch(3, "value-" + std::to_string(i));
    EXPECT_TRUE(p.append(batch, 0));
    w.batches.push_back(batch);
  }
  return w;
}

std::unique_ptr<partition> reopen(const std::filesystem::path& dir, open_report* report = nullptr) {
  auto p = partition::open(dir, config_for_recovery(), 0, report);
  EXPECT_TRUE(p) << p.error().message();
  return p ? std::move(*p) : nullptr;
}

std::uint64_t logical_size(const written& w) {
  return w.all().size();
}

void append_bytes(const std::filesystem::path& path, std::uint64_t at, const std::vector<std::byte>& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(recovery, a_clean_reopen_trims_the_zeroed_preallocated_tail_and_continues) {
  temp_dir dir;
  written w;
  std::filesystem::path log;
  {
    auto p = reopen(dir.path());
    w = fill(*p, 10);
    log = p->segment_at(0).log_path();
    EXPECT_EQ(std::filesystem::file_size(log), 64u << 10);  // preallocated, zero tail
  }
  open_report report;
  auto p = reopen(dir.path(), &report);
  EXPECT_EQ(report.truncated_bytes, (64u << 10) - logical_size(w));
  EXPECT_EQ(p->next_offset(), 30);
  EXPECT_EQ(p->durable_offset(), 30);
  EXPECT_EQ(*p->read(0, 1 << 20), w.all());
  auto next = make_batch(1, "after");
  auto r = p->append(next, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base_offset, 30);
  // Preallocated again after recovery.
  EXPECT_EQ(std::filesystem::file_size(log), 64u << 10);
}

TEST(recovery, a_torn_last_batch_is_dropped_and_its_offsets_reused) {
  temp_dir dir;
  written w;
  std::filesystem::path log;
  {
    auto p = reopen(dir.path());
    w = fill(*p, 10);
    log = p->segment_at(0).log_path();
  }
  // Cut the file in the middle of the last batch.
  const auto cut = logical_size(w) - w.batches.back().size() / 2;
  std::filesystem::resize_file(log, cut);
  open_report report;
  auto p = reopen(dir.path(), &report);
  EXPECT_EQ(report.truncated_bytes, cut - (logical_size(w) - w.batches.back().size()));
  EXPECT_EQ(p->next_offset(), 27);
  w.batches.pop_back();
  EXPECT_EQ(*p->read(0, 1 << 20), w.all());
  auto next = make_batch(2, "after");
  auto r = p->append(next, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base_offset, 27);
  w.batches.push_back(next);
  EXPECT_EQ(*p->read(0, 1 << 20), w.all());
}

TEST(recovery, garbage_after_the_last_batch_is_dropped) {
  temp_dir dir;
  written w;
  std::filesystem::path log;
  {
    auto p = reopen(dir.path());
    w = fill(*p, 10);
    log = p->segment_at(0).log_path();
  }
  std::vector<std::byte> garbage;
  for (int i = 0; i < 500; ++i) garbage.push_back(static_cast<std::byte>(i * 7 + 3));
  append_bytes(log, logical_size(w), garbage);
  auto p = reopen(dir.path());
  EXPECT_EQ(p->next_offset(), 30);
  EXPECT_EQ(*p->read(0, 1 << 20), w.all());
}

TEST(recovery, a_plausible_header_with_a_bad_crc_is_dropped) {
  temp_dir dir;
  written w;
  std::filesystem::path log;
  {
    auto p = reopen(dir.path());
    w = fill(*p, 10);
    log = p->segment_at(0).log_path();
  }
  // A whole next batch whose records were not all written: header fine, CRC wrong.
  auto torn = make_batch(3, "torn");
  set_base_offset(torn, 30);
  torn[torn.size() - 1] ^= std::byte{0xff};
  append_bytes(log, logical_size(w), torn);
  auto p = reopen(dir.path());
  EXPECT_EQ(p->next_offset(), 30);
}

TEST(recovery, an_index_entry_ahead_of_the_log_is_dropped) {
  temp_dir dir;
  written w;
  std::filesystem::path log;
  std::filesystem::path index;
  {
    auto p = reopen(dir.path());
    w = fill(*p, 20);
    log = p->segment_at(0).log_path();
    index = p->segment_at(0).index_path();
  }
  // The index reached the disk, the last batches did not.
  const auto keep = logical_size(w) - w.batches.back().size() - w.batches[18].size();
  std::filesystem::resize_file(log, keep);
  open_report report;
  auto p = reopen(dir.path(), &report);
  EXPECT_EQ(p->next_offset(), 54);
  EXPECT_EQ(report.indexes_rewritten, 1u);
  for (const auto& e : p->segment_at(0).index()) EXPECT_LT(e.position, keep);
  for (std::int64_t o = 0; o < 54; ++o) ASSERT_TRUE(p->read(o, 1)) << o;
}

TEST(recovery, deleted_indexes_are_rebuilt_identically) {
  temp_dir dir;
  std::vector<index_entry> index_before;
  std::vector<time_index_entry> times_before;
  std::vector<std::vector<index_entry>> closed_index_before;
  written w;
  {
    auto p = reopen(dir.path());
    for (int i = 0; i < 3; ++i) {
      auto more = fill(*p, 10);
      w.batches.insert(w.batches.end(), more.batches.begin(), more.batches.end());
    }
    index_before = p->segment_at(0).index();
    times_before = p->segment_at(0).time_index();
    std::filesystem::remove(p->segment_at(0).index_path());
    std::filesystem::remove(p->segment_at(0).time_index_path());
  }
  open_report report;
  auto p = reopen(dir.path(), &report);
  EXPECT_EQ(report.indexes_rewritten, 1u);
  EXPECT_EQ(p->segment_at(0).index(), index_before);
  EXPECT_EQ(p->segment_at(0).time_index(), times_before);
  EXPECT_TRUE(std::filesystem::exists(p->segment_at(0).index_path()));
  EXPECT_EQ(*p->read(0, 1 << 20), w.all());
}

TEST(recovery, a_missing_time_index_rebuilds_both_indexes_from_the_start) {
  temp_dir dir;
  std::vector<time_index_entry> times_before;
  {
    auto p = reopen(dir.path());
    fill(*p, 20);
    times_before = p->segment_at(0).time_index();
    std::filesystem::remove(p->segment_at(0).time_index_path());
  }
  auto p = reopen(dir.path());
  EXPECT_EQ(p->segment_at(0).time_index(), times_before);
  EXPECT_EQ(p->segment_at(0).max_timestamp(), 1002);
}

TEST(recovery, a_closed_segment_with_a_corrupt_index_gets_it_rebuilt) {
  temp_dir dir;
  auto config = config_for_recovery();
  config.segment_bytes = 2048;
  written w;
  std::filesystem::path index;
  std::vector<index_entry> before;
  {
    auto p = partition::open(dir.path(), config, 0);
    ASSERT_TRUE(p);
    w = fill(**p, 40);
    ASSERT_GT((*p)->segment_count(), 2u);
    index = (*p)->segment_at(0).index_path();
    before = (*p)->segment_at(0).index();
  }
  // Garbage in the middle of the index: positions go backwards.
  std::vector<std::byte> junk(8, std::byte{0xff});
  junk[3] = std::byte{0};
  append_bytes(index, 8, junk);
  std::filesystem::resize_file(index, std::filesystem::file_size(index) + 3);
  open_report report;
  auto p = partition::open(dir.path(), config, 0, &report);
  ASSERT_TRUE(p);
  EXPECT_GE(report.indexes_rewritten, 1u);
  EXPECT_EQ((*p)->segment_at(0).index(), before);
  EXPECT_EQ(std::filesystem::file_size(index), before.size() * index_entry_bytes);
  std::int64_t offset = 0;
  for (const auto& b : w.batches) {
    auto r = (*p)->read(offset, 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, b);
    offset += 3;
  }
}

TEST(recovery, leftovers_of_compaction_and_deletion_are_removed) {
  temp_dir dir;
  written w;
  {
    auto p = reopen(dir.path());
    w = fill(*p, 5);
  }
  std::ofstream(dir.path() / "00000000000000000000.log.cleaned") << "half written";
  std::ofstream(dir.path() / "00000000000000000099.index") << "orphan";
  std::ofstream(dir.path() / "00000000000000000099.timeindex") << "orphan";
  open_report report;
  auto p = reopen(dir.path(), &report);
  EXPECT_EQ(report.temporary_files_deleted, 3u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "00000000000000000000.log.cleaned"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "00000000000000000099.index"));
  EXPECT_EQ(*p->read(0, 1 << 20), w.all());
}

TEST(recovery, a_torn_tail_in_a_later_segment_keeps_the_earlier_ones) {
  temp_dir dir;
  auto config = config_for_recovery();
  config.segment_bytes = 2048;
  written w;
  std::filesystem::path last;
  {
    auto p = partition::open(dir.path(), config, 0);
    ASSERT_TRUE(p);
    w = fill(**p, 40);
    last = (*p)->segment_at((*p)->segment_count() - 1).log_path();
  }
  // Zero the whole active segment as if none of its pages reached the disk.
  const auto size = std::filesystem::file_size(last);
  std::filesystem::resize_file(last, 0);
  std::filesystem::resize_file(last, size);
  auto p = partition::open(dir.path(), config, 0);
  ASSERT_TRUE(p);
  const auto& active = (*p)->segment_at((*p)->segment_count() - 1);
  EXPECT_EQ((*p)->next_offset(), active.base_offset());
  auto next = make_batch(1, "x");
  auto r = (*p)->append(next, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base_offset, active.base_offset());
}

}  // namespace
}  // namespace substrate::log
