// Property test: random appends of random sizes, random reads, random syncs and random
// reopens (some after tearing the last batch, as a crash mid-write would), checked against a
// std::vector of the batches the log must hold.

#include <random>

#include <gtest/gtest.h>

#include "log/partition.h"
#include "test_util.h"

namespace substrate::log {
namespace {

using testing::temp_dir;

struct model_batch {
  std::int64_t base_offset;
  std::int64_t last_offset;
  std::vector<std::byte> bytes;
};

std::vector<std::byte> random_batch(std::mt19937_64& rng) {
  batch_builder builder;
  const int records = std::uniform_int_distribution<int>(1, 20)(rng);
  const int value_bytes = std::uniform_int_distribution<int>(0, 400)(rng);
  for (int i = 0; i < records; ++i) {
    std::string value(static_cast<std::size_t>(value_bytes), 'a');
    for (auto& c : value) c = static_cast<char>('a' + rng() % 26);
    // Appending rather than "k" + to_string(): GCC 12 at -O3 reports a bogus -Wrestrict for the
    // latter (GCC bug 105651).
    std::string key = "k";
    key += std::to_string(rng() % 100);
    builder.add(key, value, static_cast<std::int64_t>(rng() % 1'000'000));
  }
  return builder.build();
}

void check_against_model(partition& p, const std::vector<model_batch>& model, std::mt19937_64& rng) {
  const std::int64_t next = model.empty() ? 0 : model.back().last_offset + 1;
  ASSERT_EQ(p.next_offset(), next);
  // Sequential scan with random max_bytes returns exactly the model's batches.
  std::size_t i = 0;
  std::int64_t offset = 0;
  while (offset < next) {
    const auto max_bytes = std::uniform_int_distribution<std::size_t>(1, 20'000)(rng);
    auto r = p.read(offset, max_bytes);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_FALSE(r->empty());
    std::size_t at = 0;
    while (at < r->size()) {
      ASSERT_LT(i, model.size());
      const auto& expected = model[i].bytes;
      ASSERT_LE(at + expected.size(), r->size());
      ASSERT_TRUE(std::equal(expected.begin(), expected.end(), r->begin() + static_cast<std::ptrdiff_t>(at)))
          << "batch " << i;
      at += expected.size();
      offset = model[i].last_offset + 1;
      ++i;
    }
  }
  ASSERT_EQ(i, model.size());
}

class model_test : public ::testing::TestWithParam<int> {};

TEST_P(model_test, random_appends_reads_and_reopens_match_a_vector) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(GetParam()));
  temp_dir dir;
  partition_config config;
  config.segment_bytes = std::uniform_int_distribution<std::int64_t>(4096, 32768)(rng);
  config.index_interval_bytes = std::uniform_int_distribution<std::int64_t>(1, 4096)(rng);
  config.retention_ms = -1;
  auto p = std::move(*partition::open(dir.path(), config, 0));
  std::vector<model_batch> model;

  for (int step = 0; step < 250; ++step) {
    const int action = std::uniform_int_distribution<int>(0, 99)(rng);
    if (action < 80) {
      auto batch = random_batch(rng);
      auto r = p->append(batch, 0);
      ASSERT_TRUE(r) << r.error().message();
      model.push_back({r->base_offset, r->last_offset, batch});
    } else if (action < 88) {
      const std::int64_t next = p->next_offset();
      if (next == 0) continue;
      const auto offset = std::uniform_int_distribution<std::int64_t>(0, next - 1)(rng);
      auto r = p->read(offset, 1);
      ASSERT_TRUE(r) << r.error().message();
      const auto it =
          std::find_if(model.begin(), model.end(), [&](const model_batch& b) { return b.last_offset >= offset; });
      ASSERT_NE(it, model.end());
      ASSERT_EQ(*r, it->bytes) << "offset " << offset;
    } else if (action < 92) {
      auto synced = p->sync();
      ASSERT_TRUE(synced);
      ASSERT_EQ(*synced, p->next_offset());
      ASSERT_EQ(p->durable_offset(), p->next_offset());
    } else if (action < 96) {
      p.reset();
      p = std::move(*partition::open(dir.path(), config, 0));
      check_against_model(*p, model, rng);
    } else {
      // Crash in the middle of writing the last batch: it is lost, nothing else is.
      const auto& active = p->segment_at(p->segment_count() - 1);
      if (active.empty() || model.empty()) continue;
      const auto log = active.log_path();
      const auto end = active.size_bytes();
      const auto size = model.back().bytes.size();
      const auto cut = std::uniform_int_distribution<std::uint64_t>(end - size, end - 1)(rng);
      p.reset();
      std::filesystem::resize_file(log, cut);
      model.pop_back();
      p = std::move(*partition::open(dir.path(), config, 0));
      check_against_model(*p, model, rng);
    }
  }
  check_against_model(*p, model, rng);
}

INSTANTIATE_TEST_SUITE_P(seeds, model_test, ::testing::Range(1, 7));

}  // namespace
}  // namespace substrate::log
