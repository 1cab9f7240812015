#pragma once
// The Kafka group coordinator service: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, DescribeGroups, ListGroups, OffsetCommit and OffsetFetch over the wire messages,
// around the pure group_manager (the state machine) and offsets_log (persistence in the
// compacted `__consumer_offsets` topic). README.md has the design; spec kafka-compat.md
// section 4 the rules.
//
// Threading (STYLE.md section 4): every group lives on one shard, `coordinator_config::shard`
// (a consumer group's traffic is small; one owner keeps the state machine lock-free and
// simple). handle() runs on the connection's shard and hops to the coordinator shard with
// co_spawn; parked JoinGroup / SyncGroup answers are timers on that shard, woken by the state
// machine; one timer drives session, rebalance and initial-delay deadlines. OffsetCommit
// appends to the offsets topic through offsets_log (which hops to the partition's owner and
// waits for the fsync) and updates the state when the record is durable.
//
// Lifecycle: constructed by the broker after its topics are open; start() queues the replay of
// `__consumer_offsets` on the coordinator shard (until it finishes, group APIs answer
// COORDINATOR_LOAD_IN_PROGRESS, FindCoordinator already answers). stop() (blocking, from a
// non-shard thread, while the io_pool runs) answers every parked request with NOT_COORDINATOR
// and stops the deadline timer; later requests get COORDINATOR_NOT_AVAILABLE. Destroy after the
// io_pool stopped.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "core/metrics.h"
#include "kafka/coordinator/group_manager.h"
#include "kafka/coordinator/offsets_log.h"
#include "kafka/server/kafka_server.h"

namespace substrate::net {
class io_pool;
}

namespace substrate::kafka::coordinator {

struct node_address {
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
};

struct coordinator_config {
  group_config groups;
  std::size_t shard = 0;                      // the shard that owns every group
  std::int32_t offsets_topic_partitions = 1;  // used when the coordinator creates the topic
  std::function<node_address()> node;         // what FindCoordinator answers (the advertised node)
};

class group_coordinator {
public:
  group_coordinator(net::io_pool& pool, offsets_log& log, coordinator_config config, core::metrics_registry& metrics);
  ~group_coordinator();
  group_coordinator(const group_coordinator&) = delete;
  group_coordinator& operator=(const group_coordinator&) = delete;

  // The API keys handle() answers.
  [[nodiscard]] static bool handles(api_key key);
  // The answer that refuses a whole request of such a key with `error` (every group, member
  // and partition of it gets the error), without touching any group.
  [[nodiscard]] static message error_response(const request_header& header, const message& request, error_code error);

  void start();
  void stop();

  // Answers one request of a key handles() accepts, on the caller's executor.
  boost::asio::awaitable<message> handle(const request_header& header, message& request,
                                         const connection_context& context);

  // Drops the committed offsets of a deleted topic (tombstones in the offsets topic).
  boost::asio::awaitable<void> topic_deleted(std::string topic);

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

}  // namespace substrate::kafka::coordinator
