#pragma once
// The registry's durable store: the compacted, single-partition `_schemas` topic on any Kafka
// cluster (the built-in broker or an external one), through librdkafka, in Confluent's record
// layout (records.h, kafka-compat.md 7.5).
//
// - start(): creates `_schemas` if missing (1 partition, cleanup.policy=compact), starts the
//   reader thread at offset 0 and blocks until it has applied everything up to the high
//   watermark (throws std::runtime_error naming the problem when it cannot within the timeout).
// - append(): produces with acks=all and idempotence, waits for the broker's acknowledgement,
//   then for the reader to have applied the records (Confluent's "produce, then wait until
//   consumed"), so two registries on one cluster apply every write in the same order.
// - catch_up(): waits until the reader has reached the current high watermark.
//
// Threading: one reader thread owned here; append/catch_up from any thread (the registry
// serializes writers). Lifecycle: construct, start(), stop() (or destructor) after serving ends.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "schema/registry.h"
#include "schema/store.h"
#include "schema/topic_admin.h"

namespace substrate::schema {

struct kafka_store_options {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "_schemas";
  std::int64_t timeout_ms = 30'000;  // start-up read, produce acknowledgement, read-back
  client_settings settings;          // security.protocol, sasl.* ...
};

class kafka_store final : public store {
public:
  kafka_store(registry& target, kafka_store_options options);
  ~kafka_store() override;
  kafka_store(const kafka_store&) = delete;
  kafka_store& operator=(const kafka_store&) = delete;

  void start();
  void stop();
  std::optional<api_error> append(const std::vector<record>& records) override;
  std::optional<api_error> catch_up() override;
  // Nothing when the reader is healthy and caught up at start, else what is wrong (for /readyz).
  [[nodiscard]] std::optional<std::string> problem() const;

  struct handles;

private:
  std::optional<api_error> wait_applied(std::int64_t offset_end);
  void read_loop();

  registry& target_;
  kafka_store_options options_;
  std::unique_ptr<handles> handles_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable applied_changed_;
  std::int64_t applied_end_ = 0;  // offset after the last applied record
  bool stopping_ = false;
  bool started_ = false;
  std::string reader_error_;
};

}  // namespace substrate::schema
