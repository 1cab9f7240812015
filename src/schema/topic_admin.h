#pragma once
// Topic creation through librdkafka's admin API, for the registry's own topic and for
// provisioning. Works against any Kafka cluster.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bus/kafka_config.h"

namespace substrate::schema {

// librdkafka properties beyond bootstrap.servers (security.protocol, sasl.*), applied to every
// client the registry and provisioning create (bus/kafka_config.h builds the configuration).
using client_settings = bus::client_settings;

struct topic_spec {
  std::string name;
  std::int32_t partitions = 1;
  std::int32_t replication_factor = -1;  // -1: the broker's default
  std::string cleanup_policy;            // "delete", "compact", "compact,delete"; empty: the broker's default
  std::vector<std::pair<std::string, std::string>> configs;  // further topic configs (retention.ms=...)
};

struct create_report {
  std::vector<std::string> created;
  std::vector<std::string> existing;  // TOPIC_ALREADY_EXISTS: left as they are
};

// Creates every topic that does not exist (also `substrate topics create`). Throws
// std::runtime_error naming the topic and the broker's reason on any other failure, a config the
// client rejects, or when the cluster does not answer within timeout_ms.
[[nodiscard]] create_report create_topics(const std::string& bootstrap, const std::vector<topic_spec>& topics,
                                          std::int64_t timeout_ms, const client_settings& settings = {});

}  // namespace substrate::schema
