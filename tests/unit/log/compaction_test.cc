#include <map>
#include <optional>
#include <string>

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
  // record with the highest offset, unless it is a tombstone that is the key's only record.
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
    if (offset == l.first && !(!r.value && l.second == 1)) expected[offset] = r;
  }

  auto result = p->compact();
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

TEST(compaction, a_lone_tombstone_goes_in_the_next_pass) {
  temp_dir dir;
  auto config = compact_config();
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

  auto count_key = [&](const std::string& key) {
    int n = 0;
    for (const auto& [offset, r] : read_all(*p)) n += r.key == key ? 1 : 0;
    return n;
  };
  ASSERT_EQ(count_key("gone"), 3);
  ASSERT_TRUE(p->compact());
  EXPECT_EQ(count_key("gone"), 1);  // only the tombstone
  ASSERT_TRUE(p->compact());
  EXPECT_EQ(count_key("gone"), 0);
  // A third pass changes nothing.
  auto third = p->compact();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->segments_rewritten, 0u);
}

TEST(compaction, nothing_to_do_with_one_segment) {
  temp_dir dir;
  auto p = std::move(*partition::open(dir.path(), compact_config(), 0));
  auto batch = batch_builder().add("k", "1", 1).add("k", "2", 2).build();
  ASSERT_TRUE(p->append(batch, 0));
  auto r = p->compact();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->segments_rewritten, 0u);
  EXPECT_EQ(read_all(*p).size(), 2u);
}

}  // namespace
}  // namespace substrate::log
