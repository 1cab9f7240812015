#pragma once
// A producer for the roles that run in the broker's own process (the gateway of `substrate
// up`): records go straight to the partitions' logs through broker::append_durable, with the
// durability of a Produce with acks=all, and without a Kafka client, a loopback socket and the
// protocol in between (which cost the gateway three quarters of its CPU: bench/gateway).
//
// Batching without a linger: the first record for a topic schedules that topic's flush on the
// io_pool; every record handed in before the flush runs (the other requests the same event-loop
// turn read, or that arrive while the shard is busy) joins its batch. Under load, batches grow
// by themselves; an idle producer appends each record at once. A batch goes to one partition,
// round-robin over the topic's partitions (records have no key: contracts.md 0.2), so records of
// one batch are contiguous and the next batch spreads the load.
//
// Delivery: `done` runs exactly once, on a broker shard, after the batch is durable (error
// none, the partition and the record's offset) or failed (unknown_topic_or_partition,
// kafka_storage_error, message_too_large, broker_not_available after broker::stop() or close()).
// Nothing is retried: a failed record is not stored, and saying so is the caller's job. With a
// timeout, a batch not durable by then is answered request_timed_out (a disk that stalls the
// sync, a starved blocking pool): it may still be stored once the sync completes, as after
// librdkafka's delivery timeout.
//
// Threading: produce() from any thread. Lifecycle: the broker and the io_pool must outlive the
// producer's records in flight; close() (also run by the destructor) refuses new records.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/protocol/error_codes.h"

namespace substrate::net {
class io_pool;
}

namespace substrate::kafka {

class broker;

struct local_delivery {
  error_code error = error_code::none;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

class local_producer {
public:
  using callback = std::function<void(local_delivery)>;
  using headers = std::vector<std::pair<std::string, std::string>>;

  // At most this many value + header bytes per batch; more records wait for the next one.
  static constexpr std::size_t batch_bytes_max = 512 * 1024;

  // `timeout`: how long a record may wait to be durable (zero: no limit).
  local_producer(net::io_pool& pool, broker& target, std::chrono::milliseconds timeout = {});
  ~local_producer();
  local_producer(const local_producer&) = delete;
  local_producer& operator=(const local_producer&) = delete;

  // A record with a null key and `value` to `topic`, timestamped now (create time).
  void produce(std::string_view topic, std::string value, headers record_headers, callback done);
  void close();

  struct state;

private:
  std::shared_ptr<state> state_;
};

}  // namespace substrate::kafka
