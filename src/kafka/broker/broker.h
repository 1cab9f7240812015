#pragma once
// The Kafka broker core: the request_handler behind kafka_server. Topics of partitions stored
// with src/log, Metadata / Produce / Fetch / ListOffsets / CreateTopics / DeleteTopics /
// InitProducerId / DescribeConfigs (README.md lists versions and what is left).
//
// Threading (STYLE.md section 4). Every partition is owned by one shard, the one its
// (topic, partition) hashes to; handlers run on the connection's shard and hop to the owner
// (co_spawn on its executor) for every partition operation, so a log::partition is only ever
// touched by its owner thread. fdatasync runs on the io_pool's blocking pool (group commit: at
// most syncs_in_flight_max syncs per partition at once; acks=all produces wait for the sync that
// covers their last offset). The set of topics is a read-mostly `shared_ptr<const topic_table>`
// snapshot, replaced under a small mutex; creation and deletion (rare, blocking file work) run on
// the blocking pool, serialised by an admin mutex.
//
// Lifecycle: constructed by main after the io_pool exists (started or not) and before the
// listener starts; the constructor opens every existing topic (recovery; blocking; throws
// std::runtime_error when a topic cannot be opened). stop() wakes long-polls and durability
// waiters and runs a final sync of every partition; call it before kafka_server::stop() and
// io_pool::stop(). Destroy after the io_pool stopped.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/metrics.h"
#include "kafka/protocol/error_codes.h"
#include "kafka/security/acl.h"
#include "kafka/server/kafka_server.h"
#include "log/partition.h"

namespace substrate::net {
class io_pool;
}

namespace substrate::kafka {

struct broker_config {
  std::filesystem::path data_dir;  // topics live in <data_dir>/<topic>-<partition>/
  std::int32_t node_id = 0;
  std::string cluster_id = "substrate";
  std::string advertised_host = "127.0.0.1";  // what Metadata tells clients to connect to
  std::uint16_t advertised_port = 9092;
  bool auto_create_topics = true;  // Metadata/Produce for an unknown topic creates it
  std::int32_t default_partitions = 1;
  log::partition_config default_topic;  // segment/retention/flush defaults for new topics
  // How often each shard enforces retention.ms / retention.bytes on its partitions (<= 0: never).
  std::int64_t retention_check_interval_ms = 300'000;
  // Group commit: how many syncs of one partition may run at once (>= 1). With one, the batches
  // appended while a sync runs wait for it to end and then for a whole sync of their own; with
  // two, the next sync starts at once (each fdatasync covers everything written before it began,
  // so they may complete in any order). On the 2-core machine two cut the gateway's idle time
  // waiting for syncs by about a third (bench/gateway); more gave nothing further.
  int syncs_in_flight_max = 2;
  // At start-up the idempotent producers' sequence state of each partition is rebuilt from the
  // batch headers of its newest segments holding at least this many bytes (whole segments).
  std::uint64_t producer_state_scan_bytes = 256ULL << 20;
  // group.initial.rebalance.delay.ms: how long a new group waits for more members (0 in tests).
  std::int64_t group_initial_rebalance_delay_ms = 3000;
  // ACL checks (kafka/security/acl.h) for every topic operation; null: everything is allowed.
  // Principals come from the connection's SASL login, User:ANONYMOUS without one.
  std::shared_ptr<security::authorizer> authorizer;
};

class broker : public request_handler {
public:
  broker(net::io_pool& pool, broker_config config, core::metrics_registry& metrics);
  ~broker() override;
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  // When the listener bound port 0: the port Metadata advertises from now on.
  void set_advertised_port(std::uint16_t port);

  boost::asio::awaitable<result<std::optional<message>>> handle(const request_header& header, message& request,
                                                                connection_context& context) override;

  void stop();

  // The group check for the coordinator's handlers (spec 5.7): none, or
  // GROUP_AUTHORIZATION_FAILED (30) when the connection's principal may not `operation` the
  // group. FindCoordinator and DescribeGroups need describe; JoinGroup, SyncGroup, Heartbeat,
  // LeaveGroup, OffsetCommit and OffsetFetch need read (plus topic read / describe via
  // authorize_topic for the committed or fetched topics, 29 per partition).
  [[nodiscard]] error_code authorize_group(const connection_context& context, std::string_view group_id,
                                           security::acl_operation operation) const;
  // The same for a topic: none or TOPIC_AUTHORIZATION_FAILED (29).
  [[nodiscard]] error_code authorize_topic(const connection_context& context, std::string_view topic,
                                           security::acl_operation operation) const;

  // In-process producers (local_producer.h; the group coordinator's offsets log too): appends
  // one batch as log::batch_builder builds it, without a producer id, to a partition of an
  // existing topic, and completes on the caller's executor once the batch is durable, with its
  // base offset. What a Produce with acks=all from a trusted client of this process gets: no
  // ACL check (the caller is this process), no auto-creation (unknown_topic_or_partition),
  // kafka_storage_error when the sync fails, broker_not_available once stop() ran.
  boost::asio::awaitable<std::pair<error_code, std::int64_t>> append_durable(std::string topic, std::int32_t partition,
                                                                             std::vector<std::byte> batch);
  // The partition count of a topic; nullopt when it does not exist. Any thread.
  [[nodiscard]] std::optional<std::int32_t> partition_count(std::string_view topic) const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::kafka
