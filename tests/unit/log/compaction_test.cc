#include <map>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "log/bytes.h"
#include "log/partition.h"
#include "test_util.h"

namespace substrate::log {
namespace {

using testing::temp_dir;

partition_config compact_config() {
  partition_config c;
  c.segment_bytes = 1024;
  c.index_interval_bytes = 128;
  c.cleanup = cleanup_policy::compact;
  c.retention_ms = -1;
  return c;
}

struct model_record {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const model_record&, const model_record&) = default;
};

void PrintTo(const model_record& r, std::ostream* os) {
  *os << r.key << "=" << r.value.value_or("<null>");
}

// Everything readable, record by record: offset -> (key, value). Compressed batches are
// reported under their base offset with key "<compressed>".
std::map<std::int64_t, model_record> read_all(partition& p) {
  std::map<std::int64_t, model_record> out;
  auto bytes = p.read(p.log_start_offset(), 1 << 24);
  EXPECT_TRUE(bytes) << bytes.error().message();
  std::int64_t offset = p.log_start_offset();
  while (offset < p.next_offset()) {
    auto chunk = p.read(offset, 1);
    EXPECT_TRUE(chunk) << chunk.error().message();
    if (!chunk || chunk->empty()) break;
    auto h = validate_batch(*chunk);
    EXPECT_TRUE(h);
    if (h->is_compressed()) {
      out[h->base_offset] = {"<compressed>", std::nullopt};
    } else {
      auto records = decode_records(*chunk);
      EXPECT_TRUE(records);
      for (const auto& r : *records) {
        out[h->base_offset + r.offset_delta] = {std::string(*r.key),
                                                r.value ? std::optional<std::string>(*r.value) : std::nullopt};
      }
    }
    offset = h->next_offset();
  }
  return out;
}

std::vector<std::byte> fake_compressed_batch() {
  auto batch = batch_builder().add("c1", "x", 1).add("c2", "y", 2).build();
  store_be<std::int16_t>(batch.data() + batch_layout::attributes, 1);  // "gzip": never opened
  store_be(batch.data() + batch_layout::crc, compute_batch_crc(batch));
  return batch;
}

TEST(compaction, keeps_the_latest_value_per_key_with_offsets_unchanged) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  std::map<std::int64_t, model_record> written;
  std::vector<std::byte> compressed;
  std::int64_t compressed_offset = -1;
  for (int b = 0; b < 60; ++b) {
    if (b == 7) {
      compressed = fake_compressed_batch();
      compressed_offset = p->append(compressed, 0)->base_offset;
      written[compressed_offset] = {"<compressed>", std::nullopt};
      continue;
    }
    batch_builder builder;
    std::vector<model_record> records;
    for (int r = 0; r < 3; ++r) {
      const int n = b * 3 + r;
      model_record m{"key-" + std::to_string(n % 7), std::nullopt};
      if (n % 11 != 5) m.value = "value-" + std::to_string(n);
      builder.add(m.key, m.value, 1000 + n);
      records.push_back(m);
    }
    auto batch = builder.build();
    auto assigned = p->append(batch, 0);
    ASSERT_TRUE(assigned);
    for (int r = 0; r < 3; ++r) written[assigned->base_offset + r] = records[static_cast<std::size_t>(r)];
  }
  ASSERT_GT(p->segment_count(), 4u);
  const auto next = p->next_offset();
  const auto active_base = p->segment_at(p->segment_count() - 1).base_offset();
  ASSERT_EQ(read_all(*p), written);

  // The expected survivors: everything in the active segment; in closed ones, per key the
  // record with the highest offset (tombstones too: their delete_retention_ms has not passed).
  std::map<std::string, std::pair<std::int64_t, int>> latest;  // key -> (offset, count) in closed segments
  for (const auto& [offset, r] : written) {
    if (offset >= active_base || r.key == "<compressed>") continue;
    auto& l = latest[r.key];
    l.first = offset;
    ++l.second;
  }
  std::map<std::int64_t, model_record> expected;
  for (const auto& [offset, r] : written) {
    if (offset >= active_base || r.key == "<compressed>") {
      expected[offset] = r;
      continue;
    }
    const auto& l = latest.at(r.key);
    if (offset == l.first) expected[offset] = r;
  }

  ASSERT_TRUE(p->sync());
  auto result = p->compact(0);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_GT(result->segments_rewritten, 0u);
  EXPECT_GT(result->records_removed, 0u);
  EXPECT_LT(result->bytes_after, result->bytes_before);
  EXPECT_EQ(p->next_offset(), next);
  EXPECT_EQ(p->log_start_offset(), 0);
  EXPECT_EQ(read_all(*p), expected);
  EXPECT_FALSE(std::filesystem::exists(p->segment_at(0).log_path().string() + ".cleaned"));
  // The compressed batch is stored as it was, and reads from a removed offset move on.
  EXPECT_EQ(*p->read(compressed_offset, 1), [&] {
    auto stored = compressed;
    set_base_offset(stored, compressed_offset);
    return stored;
  }());
  auto from_zero = p->read(0, 1);
  ASSERT_TRUE(from_zero);
  EXPECT_FALSE(from_zero->empty());

  // The same after a reopen, with indexes rebuilt for the rewritten segments.
  p.reset();
  p = std::move(*partition::open(dir.path(), compact_config(), 0));
  EXPECT_EQ(read_all(*p), expected);
  EXPECT_EQ(p->next_offset(), next);

  // Appending goes on at the same offsets.
  auto more = batch_builder().add("key-1", "late", 5000).build();
  EXPECT_EQ(p->append(more, 0)->base_offset, next);
}

TEST(compaction, a_tombstone_stays_for_delete_retention_ms_after_its_timestamp) {
  temp_dir dir;
  auto config = compact_config();
  config.delete_retention_ms = 1000;
  auto p = std::move(*partition::open(dir.path(), config, 0));
  auto put = [&](const std::string& key, std::optional<std::string> value) {
    auto batch = batch_builder().add(key, value, 1).add("filler", std::string(300, 'f'), 1).build();
    ASSERT_TRUE(p->append(batch, 0));
  };
  put("gone", "v1");
  put("gone", "v2");
  put("gone", std::nullopt);
  for (int i = 0; i < 8; ++i) put("other", "x");
  ASSERT_GT(p->segment_count(), 2u);
  ASSERT_TRUE(p->sync());

  auto count_key = [&](const std::string& key) {
    int n = 0;
    for (const auto& [offset, r] : read_all(*p)) n += r.key == key ? 1 : 0;
    return n;
  };
  ASSERT_EQ(count_key("gone"), 3);
  EXPECT_TRUE(p->compaction_due(500));  // everything is dirty
  ASSERT_TRUE(p->compact(500));
  EXPECT_EQ(count_key("gone"), 1);  // only the tombstone, until 1 + 1000
  EXPECT_DOUBLE_EQ(p->dirty_ratio(), 0.0);
  EXPECT_FALSE(p->compaction_due(1000));
  EXPECT_TRUE(p->compaction_due(1001)) << "the kept tombstone expires";
  ASSERT_TRUE(p->compact(1001));
  EXPECT_EQ(count_key("gone"), 0);
  // A third pass changes nothing.
  auto third = p->compact(5000);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->segments_rewritten, 0u);
  EXPECT_FALSE(p->compaction_due(5000));
}

TEST(compaction, nothing_to_do_with_one_segment) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  auto batch = batch_builder().add("k", "1", 1).add("k", "2", 2).build();
  ASSERT_TRUE(p->append(batch, 0));
  auto r = p->compact(0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->segments_rewritten, 0u);
  EXPECT_EQ(read_all(*p).size(), 2u);
}

// Writes `batches` batches of 3 keyed records (8 keys, every 5th record a tombstone) with
// timestamps from `timestamp`; returns offset -> record.
std::map<std::int64_t, model_record> fill(partition& p, int batches, std::int64_t timestamp, int seed = 0) {
  std::map<std::int64_t, model_record> written;
  for (int b = 0; b < batches; ++b) {
    batch_builder builder;
    std::vector<model_record> records;
    for (int r = 0; r < 3; ++r) {
      const int n = seed + b * 3 + r;
      model_record m{"key-" + std::to_string(n % 8), std::nullopt};
      if (n % 5 != 4) m.value = "value-" + std::to_string(n) + std::string(40, 'x');
      builder.add(m.key, m.value, timestamp + n);
      records.push_back(m);
    }
    auto batch = builder.build();
    auto assigned = p.append(batch, 0);
    EXPECT_TRUE(assigned);
    if (!assigned) break;
    for (int r = 0; r < 3; ++r) written[assigned->base_offset + r] = records[static_cast<std::size_t>(r)];
  }
  return written;
}

// Per key, the record with the highest offset below `boundary`; everything from `boundary` on.
std::map<std::int64_t, model_record> compacted(const std::map<std::int64_t, model_record>& written,
                                               std::int64_t boundary) {
  std::map<std::string, std::int64_t> latest;
  for (const auto& [offset, r] : written) {
    if (offset < boundary) latest[r.key] = offset;
  }
  std::map<std::int64_t, model_record> out;
  for (const auto& [offset, r] : written) {
    if (offset >= boundary || latest.at(r.key) == offset) out[offset] = r;
  }
  return out;
}

TEST(compaction, appends_and_reads_go_on_while_the_job_runs_off_the_owner_thread) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  auto written = fill(*p, 40, 10'000);
  ASSERT_TRUE(p->sync());
  ASSERT_GT(p->segment_count(), 3u);
  const auto boundary = p->segment_at(p->segment_count() - 1).base_offset();

  auto job = p->plan_compaction(0);
  ASSERT_TRUE(job && *job);
  EXPECT_EQ((*job)->planned_segments(), p->segment_count() - 1);
  EXPECT_FALSE(p->compaction_due(0)) << "one job at a time";
  result<compaction_result> ran = compaction_result{};
  std::thread worker([&] { ran = (*job)->run(); });
  // The owner keeps appending (rolling new segments) and serving the old segments meanwhile.
  for (int round = 0; round < 5; ++round) {
    auto more = fill(*p, 6, 20'000, 1000 + round * 18);
    written.insert(more.begin(), more.end());
    ASSERT_EQ(read_all(*p), written);
  }
  worker.join();
  ASSERT_TRUE(ran) << ran.error().message();
  EXPECT_GT(ran->records_removed, 0u);
  EXPECT_TRUE(std::filesystem::exists(compaction_staging_directory(dir.path()) / "ready"));

  auto swapped = p->swap_compaction(**job);
  ASSERT_TRUE(swapped) << swapped.error().message();
  EXPECT_GT(swapped->segments_rewritten, 0u);
  ASSERT_TRUE((*job)->finish());
  EXPECT_FALSE(std::filesystem::exists(compaction_staging_directory(dir.path())));
  const auto expected = compacted(written, boundary);
  EXPECT_EQ(read_all(*p), expected);

  p.reset();
  p = std::move(*partition::open(dir.path(), compact_config(), 0));
  EXPECT_EQ(read_all(*p), expected);
}

TEST(compaction, only_durable_closed_segments_are_planned) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  fill(*p, 30, 10'000);
  ASSERT_GT(p->segment_count(), 2u);
  auto none = p->plan_compaction(0);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none) << "nothing was synced";
  ASSERT_TRUE(p->sync());
  auto job = p->plan_compaction(0);
  ASSERT_TRUE(job && *job);
  EXPECT_EQ((*job)->planned_segments(), p->segment_count() - 1);
}

TEST(compaction, a_failed_or_abandoned_job_changes_nothing) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  const auto written = fill(*p, 30, 10'000);
  ASSERT_TRUE(p->sync());
  auto job = p->plan_compaction(0);
  ASSERT_TRUE(job && *job);
  (*job)->cancelled->store(true);
  EXPECT_FALSE((*job)->run());
  EXPECT_FALSE(p->swap_compaction(**job));
  ASSERT_TRUE((*job)->finish());
  EXPECT_FALSE(std::filesystem::exists(compaction_staging_directory(dir.path())));
  EXPECT_EQ(read_all(*p), written);
  EXPECT_TRUE(p->compaction_due(0)) << "the next check plans again";
}

TEST(compaction, the_last_batch_of_each_idempotent_producer_stays_even_when_emptied) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  // Producer 7 writes k twice (sequences 0-1, then 2), producer 8 then overwrites k.
  auto first = batch_builder().producer(7, 3, 0).add("k", "a", 1).add("k", "b", 2).build();
  auto second = batch_builder().producer(7, 3, 2).add("k", "c", 3).build();
  ASSERT_TRUE(p->append(first, 0));
  ASSERT_TRUE(p->append(second, 0));
  for (int i = 0; i < 8; ++i) {
    auto other = batch_builder().producer(8, 0, i).add("k", "from-8-" + std::to_string(i), 10 + i).build();
    ASSERT_TRUE(p->append(other, 0));
    auto filler = batch_builder().add("filler-" + std::to_string(i), std::string(200, 'f'), 10).build();
    ASSERT_TRUE(p->append(filler, 0));
  }
  ASSERT_GT(p->segment_count(), 2u);
  ASSERT_TRUE(p->sync());
  ASSERT_TRUE(p->compact(0));
  // Every batch header of producer 7 left in the log: only its last one, with no records.
  std::vector<batch_header> producer_7;
  ASSERT_TRUE(p->visit_tail(1 << 30, [&](std::span<const std::byte>, const batch_header& h, std::uint64_t) {
    if (h.producer_id == 7) producer_7.push_back(h);
    return true;
  }));
  ASSERT_EQ(producer_7.size(), 1u);
  EXPECT_EQ(producer_7[0].base_sequence, 2);
  EXPECT_EQ(producer_7[0].producer_epoch, 3);
  EXPECT_EQ(producer_7[0].record_count, 0);
  EXPECT_EQ(producer_7[0].base_offset, 2);
  // It reads back as a valid, empty batch.
  auto read = p->read(2, 1);
  ASSERT_TRUE(read) << read.error().message();
  auto h = validate_batch(*read);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->producer_id, 7);
  EXPECT_TRUE(decode_records(*read)->empty());
}

// A crash (simulated by stopping the job before a file-system step and dropping the partition
// without any clean-up) at every step of run, swap and finish: the reopened partition holds
// either the log as it was (before the commit marker) or the compacted one (after it), never a
// mix, and no staging directory is left.
TEST(compaction, a_crash_at_every_step_rolls_back_or_forward) {
  auto config = compact_config();
  config.delete_retention_ms = 1000;
  const std::int64_t now = 1'000'000;  // every tombstone has expired: some segments empty out
  std::map<std::int64_t, model_record> before;
  std::map<std::int64_t, model_record> after;
  std::int64_t next = 0;
  {
    temp_dir reference;
    auto p = std::move(*partition::open(reference.path(), config, 0));
    before = fill(*p, 40, 0);
    ASSERT_TRUE(p->sync());
    next = p->next_offset();
    auto done = p->compact(now);
    ASSERT_TRUE(done);
    ASSERT_GT(done->segments_rewritten, 0u);
    ASSERT_GT(done->segments_deleted, 0u);
    after = read_all(*p);
    ASSERT_NE(after, before);
  }
  std::size_t rolled_back = 0;
  std::size_t rolled_forward = 0;
  for (std::size_t crash_at = 0;; ++crash_at) {
    ASSERT_LT(crash_at, 200u) << "the job never finished";
    temp_dir dir;
    auto p = std::move(*partition::open(dir.path(), config, 0));
    ASSERT_EQ(fill(*p, 40, 0), before);
    ASSERT_TRUE(p->sync());
    auto job = p->plan_compaction(now);
    ASSERT_TRUE(job && *job);
    (*job)->crash_point = [crash_at](std::size_t step) { return step == crash_at; };
    bool finished = false;
    if ((*job)->run() && p->swap_compaction(**job)) finished = (*job)->finish().has_value();
    const bool committed = (*job)->committed();
    if (finished) {
      EXPECT_EQ(read_all(*p), after);
      EXPECT_GT(rolled_back, 0u);
      EXPECT_GT(rolled_forward, 0u);
      break;
    }
    p.reset();
    job->reset();
    open_report report;
    auto reopened = partition::open(dir.path(), config, 0, &report);
    ASSERT_TRUE(reopened) << reopened.error().message();
    p = std::move(*reopened);
    EXPECT_EQ(read_all(*p), committed ? after : before) << "crash at step " << crash_at;
    EXPECT_FALSE(std::filesystem::exists(compaction_staging_directory(dir.path()))) << "crash at step " << crash_at;
    EXPECT_EQ(p->next_offset(), next);
    (committed ? rolled_forward : rolled_back) += 1;
    // The log goes on: appends, and a later compaction gives the compacted state.
    ASSERT_TRUE(p->compact(now));
    EXPECT_EQ(read_all(*p), after) << "crash at step " << crash_at;
  }
}

}  // namespace
}  // namespace substrate::log
