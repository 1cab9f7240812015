#include "kafka/broker/producer_state.h"

namespace substrate::kafka {

std::int32_t sequence_add(std::int32_t sequence, std::int32_t delta) {
  const std::int64_t sum = std::int64_t{sequence} + delta;
  return static_cast<std::int32_t>(sum % (std::int64_t{1} << 31));
}

sequence_check producer_state_table::check(const producer_batch& batch) const {
  if (batch.base_sequence < 0) return {sequence_check::verdict::reject, error_code::invalid_record, -1};
  auto it = producers_.find(batch.producer_id);
  if (it == producers_.end()) return {};
  const producer& p = it->second;
  if (batch.producer_epoch < p.epoch) return {sequence_check::verdict::reject, error_code::invalid_producer_epoch, -1};
  if (batch.producer_epoch > p.epoch) {
    if (batch.base_sequence != 0) {
      return {sequence_check::verdict::reject, error_code::out_of_order_sequence_number, -1};
    }
    return {};
  }
  const std::int32_t last = sequence_add(batch.base_sequence, batch.last_offset_delta);
  for (const entry& e : p.recent) {
    if (e.first_sequence == batch.base_sequence && e.last_sequence == last) {
      return {sequence_check::verdict::duplicate, error_code::none, e.base_offset};
    }
  }
  if (batch.base_sequence != sequence_add(p.last_sequence, 1)) {
    return {sequence_check::verdict::reject, error_code::out_of_order_sequence_number, -1};
  }
  return {};
}

void producer_state_table::record(const producer_batch& batch, std::int64_t base_offset) {
  producer& p = producers_[batch.producer_id];
  if (batch.producer_epoch != p.epoch) p = producer{};
  p.epoch = batch.producer_epoch;
  p.last_sequence = sequence_add(batch.base_sequence, batch.last_offset_delta);
  p.recent[p.next_slot] = entry{base_offset, batch.base_sequence, p.last_sequence};
  p.next_slot = (p.next_slot + 1) % remembered_batches;
}

}  // namespace substrate::kafka
