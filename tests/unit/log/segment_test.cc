#include "log/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "test_util.h"

namespace substrate::log {
namespace {

using testing::make_batch;
using testing::temp_dir;

std::vector<std::byte> batch_at(std::int64_t base_offset, int count, std::int64_t timestamp) {
  auto batch = make_batch(count, "v", timestamp);
  set_base_offset(batch, base_offset);
  return batch;
}

TEST(segment, file_names_have_twenty_digits) {
  EXPECT_EQ(segment::file_name(0, ".log"), "00000000000000000000.log");
  EXPECT_EQ(segment::file_name(1234567, ".index"), "00000000000001234567.index");
}

TEST(segment, create_preallocates_and_tracks_the_logical_end) {
  temp_dir dir;
  auto s = segment::create(dir.path(), 100, {.preallocate_bytes = 1 << 16, .index_interval_bytes = 1});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(std::filesystem::file_size((*s)->log_path()), 1u << 16);
  EXPECT_TRUE((*s)->empty());
  EXPECT_EQ((*s)->next_offset(), 100);
  const auto batch = batch_at(100, 3, 50);
  ASSERT_TRUE((*s)->append(batch, *validate_batch(batch)));
  EXPECT_EQ((*s)->size_bytes(), batch.size());
  EXPECT_EQ((*s)->next_offset(), 103);
  EXPECT_EQ((*s)->max_timestamp(), 52);
  ASSERT_TRUE((*s)->seal());
  EXPECT_EQ(std::filesystem::file_size((*s)->log_path()), batch.size());
}

// The extents of [0, bytes) of the file at `path` (FIEMAP), or nullopt where the file system
// cannot say (tmpfs, some overlay set-ups).
struct extent_report {
  std::uint64_t mapped_bytes = 0;
  std::uint64_t unwritten_bytes = 0;  // allocated but flagged unwritten (what fallocate leaves)
};
std::optional<extent_report> extents_of(const std::filesystem::path& path, std::uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  constexpr std::size_t extents_max = 64;
  std::vector<std::byte> storage(sizeof(fiemap) + extents_max * sizeof(fiemap_extent));
  auto* request = reinterpret_cast<fiemap*>(storage.data());
  request->fm_start = 0;
  request->fm_length = bytes;
  request->fm_flags = FIEMAP_FLAG_SYNC;
  request->fm_extent_count = extents_max;
  const int rc = ::ioctl(fd, FS_IOC_FIEMAP, request);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  extent_report report;
  for (std::uint32_t i = 0; i < request->fm_mapped_extents; ++i) {
    const fiemap_extent& e = request->fm_extents[i];
    report.mapped_bytes += e.fe_length;
    if ((e.fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0) report.unwritten_bytes += e.fe_length;
  }
  return report;
}

// The active segment's reservation is written zeros, not fallocate's unwritten extents, whose
// first write is a metadata change that makes each following fdatasync commit the journal
// (file::write_zeros). A fallocated file alongside shows that this file system reports the
// difference; where it cannot (no FIEMAP, or no unwritten extents), the test says so and skips.
TEST(segment, the_reservation_is_written_blocks_not_unwritten_extents) {
  temp_dir dir;
  constexpr std::uint64_t reserved = 256 << 10;
  const auto control = dir.path() / "fallocated";
  {
    const int fd = ::open(control.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const int rc = ::fallocate(fd, 0, 0, static_cast<off_t>(reserved));
    ::close(fd);
    if (rc != 0) GTEST_SKIP() << "fallocate is not supported here";
  }
  const auto fallocated = extents_of(control, reserved);
  if (!fallocated || fallocated->unwritten_bytes == 0) {
    GTEST_SKIP() << "this file system does not report unwritten extents (FIEMAP), so the test cannot tell";
  }

  auto s = segment::create(
      dir.path(), 0, {.preallocate_bytes = reserved, .index_interval_bytes = 4096, .preallocate_step_bytes = reserved});
  ASSERT_TRUE(s) << s.error().message();
  const auto batch = batch_at(0, 3, 50);
  ASSERT_TRUE((*s)->append(batch, *validate_batch(batch)));
  ASSERT_EQ(std::filesystem::file_size((*s)->log_path()), reserved);
  const auto report = extents_of((*s)->log_path(), reserved);
  ASSERT_TRUE(report);
  EXPECT_GE(report->mapped_bytes, reserved) << "every reserved byte has its block";
  EXPECT_EQ(report->unwritten_bytes, 0u) << "no unwritten extent in the reservation";
}

TEST(segment, the_reservation_grows_a_step_ahead_of_the_writes_up_to_the_segment_size) {
  temp_dir dir;
  const segment_options options{
      .preallocate_bytes = 40 << 10, .index_interval_bytes = 4096, .preallocate_step_bytes = 16 << 10};
  auto s = segment::create(dir.path(), 0, options);
  ASSERT_TRUE(s) << s.error().message();
  const auto log = (*s)->log_path();
  EXPECT_EQ(std::filesystem::file_size(log), 16u << 10);  // one step, not the whole segment
  std::int64_t offset = 0;
  std::vector<std::uint64_t> sizes;
  while ((*s)->size_bytes() < (48u << 10)) {
    const auto batch = make_batch(1, std::string(1000, 'x'));
    auto b = batch;
    set_base_offset(b, offset);
    ASSERT_TRUE((*s)->append(b, *validate_batch(b)));
    offset += 1;
    const auto size = std::filesystem::file_size(log);
    EXPECT_GE(size, (*s)->size_bytes());
    if (sizes.empty() || sizes.back() != size) sizes.push_back(size);
  }
  // 16 KiB steps, capped at the 40 KiB limit; past it the file grows with the writes alone.
  ASSERT_GE(sizes.size(), 4u);
  EXPECT_EQ(sizes[0], 16u << 10);
  EXPECT_EQ(sizes[1], 32u << 10);
  EXPECT_EQ(sizes[2], 40u << 10);
  EXPECT_EQ(sizes.back(), (*s)->size_bytes());
  ASSERT_TRUE((*s)->seal());
  EXPECT_EQ(std::filesystem::file_size(log), (*s)->size_bytes());
}

TEST(segment, reopening_an_active_segment_reserves_one_step_past_its_end) {
  temp_dir dir;
  const segment_options options{
      .preallocate_bytes = 1 << 20, .index_interval_bytes = 4096, .preallocate_step_bytes = 16 << 10};
  std::uint64_t end = 0;
  {
    auto s = segment::create(dir.path(), 0, options);
    ASSERT_TRUE(s);
    for (int i = 0; i < 20; ++i) {
      auto b = batch_at(i, 1, i);
      ASSERT_TRUE((*s)->append(b, *validate_batch(b)));
    }
    end = (*s)->size_bytes();
  }
  segment_recovery report;
  auto s = segment::open(dir.path(), 0, options, segment_role::active, &report);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->size_bytes(), end);
  EXPECT_EQ((*s)->next_offset(), 20);
  EXPECT_EQ(report.truncated_bytes, (16u << 10) - end);  // the zeroed reserved tail
  EXPECT_EQ(std::filesystem::file_size((*s)->log_path()), (end / (16 << 10) + 1) * (16u << 10));
}

TEST(segment, index_entries_every_interval_and_find_uses_them) {
  temp_dir dir;
  auto s = segment::create(dir.path(), 0, {.preallocate_bytes = 0, .index_interval_bytes = 300});
  ASSERT_TRUE(s);
  std::int64_t offset = 0;
  std::vector<std::uint64_t> positions;
  for (int i = 0; i < 20; ++i) {
    const auto batch = batch_at(offset, 2, 1000 + i * 10);
    positions.push_back((*s)->size_bytes());
    ASSERT_TRUE((*s)->append(batch, *validate_batch(batch)));
    offset += 2;
  }
  const auto& index = (*s)->index();
  ASSERT_GT(index.size(), 2u);
  EXPECT_LT(index.size(), 20u);
  EXPECT_EQ(index.front(), (index_entry{0, 0}));
  for (std::size_t i = 1; i < index.size(); ++i) EXPECT_GE(index[i].position - index[i - 1].position, 300u);
  for (std::int64_t o = 0; o < offset; ++o) {
    auto found = (*s)->find(o);
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->position, positions[static_cast<std::size_t>(o / 2)]);
    EXPECT_EQ((*found)->header.base_offset, o - o % 2);
  }
  auto past = (*s)->find(offset);
  ASSERT_TRUE(past);
  EXPECT_FALSE(*past);
  // The time index only grows.
  const auto& times = (*s)->time_index();
  ASSERT_FALSE(times.empty());
  for (std::size_t i = 1; i < times.size(); ++i) EXPECT_GT(times[i].timestamp, times[i - 1].timestamp);
}

}  // namespace
}  // namespace substrate::log
