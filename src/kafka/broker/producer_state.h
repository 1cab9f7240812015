#pragma once
// Idempotent-producer bookkeeping for one partition (spec kafka-compat.md 3.6): per producer id
// the current epoch, the last sequence, and the last five batches, so that a retried batch is
// answered with its original offset instead of being appended twice.
//
// Ownership: a member of the partition's state on its owner shard; single-threaded. In memory
// only: the broker rebuilds it at start-up by record()ing the batch headers of the log's tail
// in offset order (broker_config::producer_state_scan_bytes), so a retry that straddles a
// restart is still a duplicate. A producer whose batches all lie before that tail (or were
// compacted away) starts afresh: its next batch is accepted whatever its sequence (rule 1).

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "kafka/protocol/error_codes.h"

namespace substrate::kafka {

struct producer_batch {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t last_offset_delta = 0;
};

struct sequence_check {
  enum class verdict { append, duplicate, reject };
  verdict outcome = verdict::append;
  error_code error = error_code::none;  // for reject
  std::int64_t base_offset = -1;        // for duplicate: the original one
};

class producer_state_table {
public:
  static constexpr std::size_t remembered_batches = 5;

  // What to do with a batch of an idempotent producer (producer_id >= 0).
  [[nodiscard]] sequence_check check(const producer_batch& batch) const;
  // Records an appended batch.
  void record(const producer_batch& batch, std::int64_t base_offset);
  [[nodiscard]] std::size_t size() const { return producers_.size(); }

private:
  struct entry {
    std::int64_t base_offset = -1;
    std::int32_t first_sequence = -1;
    std::int32_t last_sequence = -1;
  };
  struct producer {
    std::int16_t epoch = -1;
    std::int32_t last_sequence = -1;
    std::array<entry, remembered_batches> recent{};  // ring; unused slots have first_sequence -1
    std::size_t next_slot = 0;
  };
  std::unordered_map<std::int64_t, producer> producers_;
};

// Sequence numbers wrap at 2^31-1 to 0.
[[nodiscard]] std::int32_t sequence_add(std::int32_t sequence, std::int32_t delta);

}  // namespace substrate::kafka
