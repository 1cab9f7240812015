#pragma once
// How every librdkafka client of the process is configured: one place that turns a bootstrap
// address, SASL credentials and extra properties into an `rd_kafka_conf_t`, so the registry's
// store, topic administration, the producer and the readers connect the same way.
//
// Callers that include <librdkafka/rdkafka.h> use `rd_kafka_conf_t*` as returned; this header
// does not include librdkafka.

#include <string>
#include <utility>
#include <vector>

struct rd_kafka_conf_s;

namespace substrate::bus {

// librdkafka properties, applied in order (a later one overrides an earlier one).
using client_settings = std::vector<std::pair<std::string, std::string>>;

// Where a client connects and as whom.
struct kafka_connection {
  std::string bootstrap = "127.0.0.1:9092";
  std::string sasl_mechanism;  // empty: no SASL; SCRAM-SHA-256 or PLAIN (over SASL_PLAINTEXT)
  std::string sasl_username;
  std::string sasl_password;
  client_settings extra;  // any further properties (security.protocol=SSL, ...)

  // security.protocol / sasl.* (when a mechanism is set) followed by `extra`; no bootstrap.
  [[nodiscard]] client_settings settings() const;
};

// A new configuration with bootstrap.servers, client.id, log_level=3 (errors only: the clients
// report through their own callbacks) and then `settings`. Throws std::runtime_error
// "librdkafka <key>: <reason>" when librdkafka rejects a property; the caller owns the result
// (rd_kafka_new takes it over, else rd_kafka_conf_destroy).
[[nodiscard]] rd_kafka_conf_s* make_conf(const std::string& bootstrap, const std::string& client_id,
                                         const client_settings& settings);

}  // namespace substrate::bus
