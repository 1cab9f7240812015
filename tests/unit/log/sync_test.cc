// The sync contract: prepare_sync() on the owner thread, run() on another thread while the
// owner keeps appending, rolling and deleting segments, complete_sync() back on the owner.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "log/partition.h"
#include "test_util.h"

namespace substrate::log {
namespace {

using testing::make_batch;
using testing::temp_dir;

partition_config sync_config() {
  partition_config c;
  c.segment_bytes = 4096;
  c.index_interval_bytes = 512;
  c.retention_ms = -1;
  return c;
}

TEST(sync, one_sync_covers_everything_appended_before_it) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), sync_config(), 0));
  for (int i = 0; i < 5; ++i) {
    auto batch = make_batch(2, "v");
    ASSERT_TRUE(p->append(batch, 0));
  }
  EXPECT_EQ(p->durable_offset(), 0);
  auto handle = p->prepare_sync();
  ASSERT_TRUE(handle);
  EXPECT_EQ(handle->covered_offset(), 10);
  EXPECT_EQ(handle->file_count(), 3u);  // log, index, time index
  // Appended after the snapshot: not covered by this sync.
  auto late = make_batch(1, "late");
  ASSERT_TRUE(p->append(late, 0));
  auto done = handle->run();
  ASSERT_TRUE(done);
  p->complete_sync(done);
  EXPECT_EQ(p->durable_offset(), 10);
  EXPECT_EQ(*p->sync(), 11);
  EXPECT_EQ(p->durable_offset(), 11);
}

TEST(sync, a_log_only_sync_leaves_the_active_indexes_to_recovery) {
  temp_dir dir;
  std::filesystem::path index_path;
  std::filesystem::path time_index_path;
  std::int64_t covered = 0;
  {
    partition_config config = sync_config();
    config.segment_bytes = 1 << 20;  // everything in the active segment
    auto p = std::move(*partition::open(dir.path(), config, 0));
    for (int i = 0; i < 40; ++i) {
      auto batch = make_batch(3, std::string(100, 'x'), 1000 + 10 * i);  // records at 1000+10i..+2
      ASSERT_TRUE(p->append(batch, 0));
    }
    auto handle = p->prepare_sync(partition::sync_scope::log_only);
    ASSERT_TRUE(handle);
    EXPECT_EQ(handle->file_count(), 1u);  // the log alone
    auto done = handle->run();
    ASSERT_TRUE(done);
    p->complete_sync(done);
    covered = p->durable_offset();
    EXPECT_EQ(covered, 120);
    index_path = p->segment_at(0).index_path();
    time_index_path = p->segment_at(0).time_index_path();
  }
  // A crash before the index pages reached the disk: the index files lose their contents.
  std::filesystem::resize_file(index_path, 0);
  std::filesystem::resize_file(time_index_path, 0);
  auto reopened = partition::open(dir.path(), sync_config(), 0);
  ASSERT_TRUE(reopened) << reopened.error().message();
  auto& p = **reopened;
  EXPECT_EQ(p.next_offset(), covered);
  // The rebuilt indexes find a batch in the middle and the first batch at a timestamp.
  auto middle = p.read(61, 1 << 20);
  ASSERT_TRUE(middle);
  EXPECT_FALSE(middle->empty());
  auto at_time = p.offset_for_timestamp(1200);  // batch 20's first record
  ASSERT_TRUE(at_time);
  ASSERT_TRUE(*at_time);
  EXPECT_EQ((*at_time)->offset, 60);
  EXPECT_GT(std::filesystem::file_size(index_path), 0u) << "recovery rewrote the index";
}

TEST(sync, a_rolled_segment_stays_in_the_sync_set_until_a_sync_covers_it) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), sync_config(), 0));
  while (p->segment_count() < 3) {
    auto batch = make_batch(4, std::string(100, 'x'));
    ASSERT_TRUE(p->append(batch, 0));
  }
  auto handle = p->prepare_sync();
  ASSERT_TRUE(handle);
  // Two rolled logs, their two index files each, two directory syncs, and the active three.
  EXPECT_EQ(handle->file_count(), 2u * 3 + 2 + 3);
  // A failed or unfinished sync changes nothing.
  p->complete_sync(make_error(errc::io_error, "simulated"));
  EXPECT_EQ(p->durable_offset(), 0);
  EXPECT_EQ(p->prepare_sync()->file_count(), handle->file_count());
  p->complete_sync(handle->run());
  EXPECT_EQ(p->durable_offset(), p->next_offset());
  EXPECT_EQ(p->prepare_sync()->file_count(), 3u);
}

// The broker runs up to two syncs of a partition at once (broker_config::syncs_in_flight_max);
// they may complete in any order, and a segment rolled between them stays pending until a sync
// that covers it completes. Both tests start from the same two syncs: one prepared after a first
// batch, the other after enough batches to roll a segment.
struct two_syncs {
  std::unique_ptr<partition> p;
  result<sync_handle> earlier = make_error(errc::io_error, "not prepared");
  result<sync_handle> later = make_error(errc::io_error, "not prepared");
  std::int64_t earlier_covers = 0;
};

two_syncs prepare_two_syncs(const temp_dir& dir) {
  two_syncs out;
  out.p = std::move(*partition::open(dir.path(), sync_config(), 0));
  auto first_batch = make_batch(4, std::string(100, 'x'));
  EXPECT_TRUE(out.p->append(first_batch, 0));
  out.earlier = out.p->prepare_sync();
  out.earlier_covers = out.p->next_offset();
  while (out.p->segment_count() < 2) {
    auto batch = make_batch(4, std::string(100, 'y'));
    EXPECT_TRUE(out.p->append(batch, 0));
  }
  out.later = out.p->prepare_sync();
  return out;
}

TEST(sync, overlapping_syncs_complete_in_any_order) {
  temp_dir dir;
  auto [p, earlier, later, earlier_covers] = prepare_two_syncs(dir);
  ASSERT_TRUE(earlier && later);
  EXPECT_GT(later->file_count(), earlier->file_count()) << "the later sync covers the rolled segment too";

  auto later_done = later->run();
  ASSERT_TRUE(later_done);
  p->complete_sync(later_done);
  EXPECT_EQ(p->durable_offset(), p->next_offset());
  EXPECT_EQ(p->prepare_sync()->file_count(), 3u) << "the rolled segment left the sync set";

  auto earlier_done = earlier->run();
  ASSERT_TRUE(earlier_done);
  EXPECT_EQ(earlier_done->covered_offset, earlier_covers);
  p->complete_sync(earlier_done);
  EXPECT_EQ(p->durable_offset(), p->next_offset()) << "an earlier sync completing late never moves it back";
  EXPECT_EQ(p->prepare_sync()->file_count(), 3u);
}

// The other order: the earlier completes first and covers only its part; the rolled segment
// stays in the sync set until the later one completes.
TEST(sync, an_earlier_sync_completing_first_covers_only_what_it_saw) {
  temp_dir dir;
  auto [p, earlier, later, earlier_covers] = prepare_two_syncs(dir);
  ASSERT_TRUE(earlier && later);
  p->complete_sync(earlier->run());
  EXPECT_EQ(p->durable_offset(), earlier_covers);
  EXPECT_GT(p->prepare_sync()->file_count(), 3u) << "the rolled segment is still pending";
  p->complete_sync(later->run());
  EXPECT_EQ(p->durable_offset(), p->next_offset());
  EXPECT_EQ(p->prepare_sync()->file_count(), 3u);
}

TEST(sync, a_handle_outlives_its_partition) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), sync_config(), 0));
  auto batch = make_batch(1, "v");
  ASSERT_TRUE(p->append(batch, 0));
  auto handle = p->prepare_sync();
  ASSERT_TRUE(handle);
  p.reset();
  auto done = handle->run();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->covered_offset, 1);
}

// A minimal blocking pool of one thread: handles in, results out.
class sync_thread {
public:
  sync_thread()
      : worker_([this] {
          for (;;) {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return stop_ || !requests_.empty(); });
            if (requests_.empty()) return;
            auto handle = std::move(requests_.front());
            requests_.pop_front();
            lock.unlock();
            auto done = handle.run();
            lock.lock();
            results_.push_back(std::move(done));
          }
        }) {}
  ~sync_thread() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_one();
    worker_.join();
  }
  void submit(sync_handle handle) {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(handle));
    }
    ready_.notify_one();
  }
  std::optional<result<sync_done>> poll() {
    std::lock_guard lock(mutex_);
    if (results_.empty()) return std::nullopt;
    auto r = std::move(results_.front());
    results_.pop_front();
    return r;
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<sync_handle> requests_;
  std::deque<result<sync_done>> results_;
  bool stop_ = false;
  std::thread worker_;
};

TEST(sync, group_commit_from_another_thread_while_the_owner_appends_rolls_and_deletes) {
  temp_dir dir;
  auto config = sync_config();
  config.retention_bytes = 3 * 4096;
  auto p = std::move(*partition::open(dir.path(), config, 0));
  std::int64_t in_flight_covers = -1;  // at most one sync in flight, as the broker runs it
  std::int64_t last_durable = 0;
  int completed = 0;
  {
    sync_thread pool;
    for (int i = 0; i < 1000 || in_flight_covers >= 0; ++i) {
      if (i < 1000) {
        auto batch = make_batch(1 + i % 5, std::string(static_cast<std::size_t>(i % 300), 'v'));
        auto r = p->append(batch, 0);
        ASSERT_TRUE(r) << r.error().message();
        if (i % 50 == 0) {
          ASSERT_TRUE(p->enforce_retention(0));
        }
      }
      if (auto done = pool.poll()) {
        ASSERT_TRUE(*done) << done->error().message();
        EXPECT_EQ((*done)->covered_offset, in_flight_covers);
        p->complete_sync(*done);
        EXPECT_EQ(p->durable_offset(), in_flight_covers);
        EXPECT_GE(p->durable_offset(), last_durable);
        last_durable = p->durable_offset();
        in_flight_covers = -1;
        ++completed;
      }
      if (in_flight_covers < 0 && i < 1000) {
        auto handle = p->prepare_sync();
        ASSERT_TRUE(handle) << handle.error().message();
        in_flight_covers = handle->covered_offset();
        EXPECT_EQ(in_flight_covers, p->next_offset());
        pool.submit(std::move(*handle));
      }
      if (i >= 1000) std::this_thread::yield();
    }
  }
  EXPECT_GT(completed, 1);
  EXPECT_GT(p->log_start_offset(), 0);
  EXPECT_LE(p->durable_offset(), p->next_offset());
  EXPECT_EQ(*p->sync(), p->next_offset());
  EXPECT_EQ(p->prepare_sync()->file_count(), 3u);
}

}  // namespace
}  // namespace substrate::log
