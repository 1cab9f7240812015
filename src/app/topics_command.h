#pragma once
// `substrate topics list|create|describe|delete`: operator commands against a running broker
// (ours or any Kafka) over the Kafka protocol, through librdkafka's admin API, exactly as any
// other client would. Human-readable output on stdout, errors on stderr; the functions return
// the exit status (0 done, 1 failed).

#include <cstdint>
#include <string>
#include <vector>

namespace substrate::app {

struct topics_options {
  std::string bootstrap = "127.0.0.1:9092";
  std::string sasl_user;       // empty: no SASL
  std::string sasl_mechanism;  // SCRAM-SHA-256 (default with a user) or PLAIN
  std::string sasl_password;   // read by the CLI from stdin or a file, never from argv
  std::int64_t timeout_ms = 10'000;
};

int topics_list(const topics_options& options);
int topics_create(const topics_options& options, const std::string& name, std::int32_t partitions,
                  std::int32_t replication, const std::vector<std::string>& configs);
int topics_describe(const topics_options& options, const std::vector<std::string>& names);
int topics_delete(const topics_options& options, const std::vector<std::string>& names);

}  // namespace substrate::app
