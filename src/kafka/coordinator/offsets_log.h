#pragma once
// What the group coordinator needs from the broker's log: the internal topic
// `__consumer_offsets` (created compacted on first use), durable appends to it, reads of it at
// start-up, and which topics exist. The broker implements it over its own partitions, so the
// offsets topic gets the same recovery, group commit and compaction as every other topic; the
// coordinator stays independent of how partitions are owned.
//
// Threading: the awaitables may be started on any shard and complete on the caller's executor.
// partitions_of() may be called from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "kafka/protocol/error_codes.h"
#include "kafka/protocol/primitives.h"

namespace substrate::kafka::coordinator {

struct log_read {
  error_code error = error_code::none;
  std::int64_t high_watermark = -1;
  bytes data;  // whole batches, possibly starting before the requested offset
};

class offsets_log {
public:
  virtual ~offsets_log() = default;
  // The partition count of `__consumer_offsets`. When it does not exist: creates it with
  // `partitions` partitions and cleanup.policy=compact if `create`, else answers 0.
  virtual boost::asio::awaitable<std::pair<error_code, std::int32_t>> open_offsets_topic(std::int32_t partitions,
                                                                                         bool create) = 0;
  // Whole batches from the one holding `offset`; empty data at the end of the partition.
  virtual boost::asio::awaitable<log_read> read(std::int32_t partition, std::int64_t offset) = 0;
  // Appends one batch and completes once it is durable (fsynced): its base offset.
  virtual boost::asio::awaitable<std::pair<error_code, std::int64_t>> append(std::int32_t partition,
                                                                             std::vector<std::byte> batch) = 0;
  // The partition count of a topic, or nullopt when it does not exist.
  [[nodiscard]] virtual std::optional<std::int32_t> partitions_of(std::string_view topic) const = 0;
};

}  // namespace substrate::kafka::coordinator
