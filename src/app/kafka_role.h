#pragma once
// The built-in Kafka broker as a role of a substrate process: the broker over <data_dir>/kafka,
// its listener, and its security (SASL users and ACLs from <data_dir>/kafka-security, switched
// on by kafka.sasl.* and kafka.authorization.*). `substrate up` and `substrate broker` both run
// it through this class, so the two cannot drift apart.
//
// Lifecycle: construct after the io_pool (recovers every partition, blocking; throws
// std::runtime_error naming the problem), start() after pool.start() (binds; throws), stop()
// before pool.stop() (the broker first: it wakes long-polls and syncs; then the listener).
// Main thread only.

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/metrics.h"

namespace substrate::net {
class io_pool;
}

namespace substrate::kafka {
class broker;
}

namespace substrate::app {

class kafka_role {
public:
  kafka_role(net::io_pool& pool, const core::config& cfg, const std::string& data_dir, core::metrics_registry& metrics);
  ~kafka_role();
  kafka_role(const kafka_role&) = delete;
  kafka_role& operator=(const kafka_role&) = delete;

  void start();
  void stop();
  // host:port that clients are told to use (the bound port once started).
  [[nodiscard]] std::string address() const;
  // One line for the banner: "SASL SCRAM-SHA-256,PLAIN, ACLs on" or "no authentication".
  [[nodiscard]] std::string security_summary() const;
  // The broker itself, for the roles of this process that append to it directly.
  [[nodiscard]] kafka::broker& broker();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::app
