#pragma once
// Reading records of a topic without a consumer group: librdkafka's partition-level consumer.
// For tools (`substrate events consume`), tests, and the outbox relay's recovery scan, which
// reads the tail of each partition. Offsets are never committed.
//
// Threading: one thread at a time. Lifecycle: construct (throws std::runtime_error on a
// configuration librdkafka rejects), use, destroy.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/kafka_config.h"
#include "bus/producer.h"
#include "core/result.h"

namespace substrate::bus {

struct consumed_record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  std::vector<record_header> headers;

  // The value of the first header with this name.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

struct watermarks {
  std::int64_t low = 0;   // first offset still stored
  std::int64_t high = 0;  // offset the next record gets
};

enum class start_at : std::uint8_t { beginning, end };

class topic_reader {
public:
  explicit topic_reader(kafka_connection connection, std::string client_id = "substrate-reader");
  ~topic_reader();
  topic_reader(const topic_reader&) = delete;
  topic_reader& operator=(const topic_reader&) = delete;

  // The partition ids of `topic` (errc::produce_rejected naming the topic when it does not
  // exist, broker_unavailable when the cluster does not answer in time).
  [[nodiscard]] result<std::vector<std::int32_t>> partitions(const std::string& topic, std::int64_t timeout_ms);
  [[nodiscard]] result<watermarks> offsets(const std::string& topic, std::int32_t partition, std::int64_t timeout_ms);

  // The records of [from, to) of one partition, in offset order (fewer when compaction or
  // transactions left gaps); timed_out when the broker does not deliver them in time.
  [[nodiscard]] result<std::vector<consumed_record>> read_range(const std::string& topic, std::int32_t partition,
                                                                std::int64_t from, std::int64_t to,
                                                                std::int64_t timeout_ms);

  // Streaming: start reading every partition of `topic` from its beginning or from its end as
  // of this call (every record produced after it returns is seen), then call next()
  // repeatedly. One subscription per reader.
  [[nodiscard]] result<void> subscribe(const std::string& topic, start_at where, std::int64_t timeout_ms);
  // The next record of any partition, or nullopt when none arrived within timeout_ms.
  [[nodiscard]] result<std::optional<consumed_record>> next(std::int64_t timeout_ms);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::bus
