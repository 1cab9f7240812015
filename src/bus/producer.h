#pragma once
// The platform's Kafka producer: librdkafka with enable.idempotence=true and acks=all (each
// acknowledged record is on every in-sync replica, in order per partition, never duplicated by
// the client's retries), partitioner murmur2_random (keyed records land where Java and kafkajs
// clients put them). Works the same against the built-in broker and any Kafka cluster.
//
// produce() enqueues and returns at once; the callback runs once, on the producer's poll
// thread (or inside a flush() call), with the record's partition and offset or an error:
//   broker_unavailable  no broker / no leader until delivery_timeout_ms (the gateway's 503)
//   produce_rejected    the broker refused the record (too large, unknown topic, not authorized)
//   producer_fatal      the idempotent producer lost its state; recreate the producer
// Callbacks must be short and must not call flush() or destroy the producer.
//
// Threading: produce/flush from any thread. Lifecycle: the constructor connects lazily (throws
// std::runtime_error on a configuration librdkafka rejects); the destructor waits up to
// `close_timeout_ms` for outstanding records, then fails the rest (their callbacks get
// broker_unavailable) and stops the poll thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/kafka_config.h"
#include "core/result.h"

namespace substrate::bus {

struct record_header {
  std::string name;
  std::string value;
};

struct delivery {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

using delivery_callback = std::function<void(result<delivery>)>;

struct producer_options {
  kafka_connection connection;
  std::string client_id = "substrate";
  std::int64_t delivery_timeout_ms = 30'000;  // message.timeout.ms: how long a record may wait for its ack
  std::int64_t linger_ms = 2;
  std::int64_t close_timeout_ms = 5'000;
  client_settings extra;  // further librdkafka properties (after ours)
};

class producer {
public:
  explicit producer(producer_options options);
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Enqueues one record (the value and key are copied). An error here means the record was not
  // enqueued and `done` will not be called (queue full: broker_unavailable; unknown topic,
  // record too large: produce_rejected; fatal: producer_fatal). partition -1: the partitioner's.
  [[nodiscard]] result<void> produce(std::string_view topic, const std::optional<std::string>& key,
                                     std::string_view value, const std::vector<record_header>& headers,
                                     delivery_callback done, std::int32_t partition = -1);

  // produce() and wait for the acknowledgement.
  [[nodiscard]] result<delivery> produce_sync(std::string_view topic, const std::optional<std::string>& key,
                                              std::string_view value, const std::vector<record_header>& headers = {});

  // Learns the partitions and leaders of `topics` now (blocking, up to timeout_ms each). Without
  // it, librdkafka 2.0 asks for a topic it has not seen since connecting only at its next
  // 1-second metadata scan, so the first record of each topic waits up to a second. Call it at
  // start-up with the topics a service writes; unknown topics are produce_rejected.
  [[nodiscard]] result<void> prepare(const std::vector<std::string>& topics, std::int64_t timeout_ms);

  // Waits until every enqueued record has its callback done; timed_out when some are left.
  [[nodiscard]] result<void> flush(std::int64_t timeout_ms);

  // Records enqueued whose callbacks have not run yet.
  [[nodiscard]] std::size_t outstanding() const;

  // Puts the producer in librdkafka's fatal error state (rd_kafka_test_fatal_error), exactly as
  // a fatal idempotence error from a broker would: queued records fail with producer_fatal and
  // so does every later produce(). For tests of the recovery path; no broker we can run causes
  // one on demand.
  [[nodiscard]] result<void> fail_for_testing(std::string_view reason);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::bus
