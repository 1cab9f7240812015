#include "bus/kafka_config.h"

#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "bus/logger.h"

namespace substrate::bus {
namespace {

// librdkafka's own log lines (connection refused, retries) go to the bus logger at debug level:
// the clients report what an operator must act on through their error callbacks and results.
void log_line(const rd_kafka_t* handle, int level, const char* facility, const char* message) {
  bus_log.debug("librdkafka {} {} [{}]: {}", rd_kafka_name(handle), facility, level, message);
}

}  // namespace

client_settings kafka_connection::settings() const {
  client_settings out;
  if (!sasl_mechanism.empty()) {
    out = {{"security.protocol", "SASL_PLAINTEXT"},
           {"sasl.mechanisms", sasl_mechanism},
           {"sasl.username", sasl_username},
           {"sasl.password", sasl_password}};
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

rd_kafka_conf_t* make_conf(const std::string& bootstrap, const std::string& client_id,
                           const client_settings& settings) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(fmt::format("librdkafka {}: {}", key, error));
    }
  };
  set("bootstrap.servers", bootstrap);
  set("client.id", client_id);
  set("log_level", "3");
  for (const auto& [key, value] : settings) set(key, value);
  rd_kafka_conf_set_log_cb(conf, log_line);
  return conf;
}

}  // namespace substrate::bus
