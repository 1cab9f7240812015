#pragma once
// Real dependencies for the bus tests: a schema registry served over HTTP on 127.0.0.1 port 0
// (schema::registry on a memory store, the same REST API and HTTP server `substrate registry`
// runs), and test_broker (the built-in broker alone) as a child process on a free port.

#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../../support/broker_process.h"
#include "core/metrics.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "schema/memory_store.h"
#include "schema/rest_api.h"

namespace substrate::bus::testing {

using test_support::free_port;

// Scratch directories named substrate-bus-*.
class temp_dir : public test_support::temp_dir {
public:
  temp_dir() : test_support::temp_dir("substrate-bus") {}
};

// The registry's REST API on an HTTP listener; `check` turns on basic auth.
class registry_server {
public:
  explicit registry_server(schema::authenticator check = {}) : store_(registry_), api_(registry_, std::move(check)) {
    core::http_config limits;
    limits.access_log = false;
    limits.shutdown_grace_ms = 1000;
    pool_ = std::make_unique<net::io_pool>(1, 2);
    http_metrics_ = std::make_unique<net::http_metrics>(metrics_);
    auto routes = std::make_shared<net::router>();
    schema::add_routes(*routes, api_, pool_->blocking());
    server_ = std::make_unique<net::http_server>(*pool_, net::http_server_options{"registry", "127.0.0.1", 0, limits},
                                                 routes, *http_metrics_);
    pool_->start();
    server_->start();
  }
  ~registry_server() {
    server_->stop();
    pool_->stop();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }
  schema::registry& registry() { return registry_; }

private:
  schema::registry registry_;
  schema::memory_store store_;
  schema::rest_api api_;
  core::metrics_registry metrics_;
  std::unique_ptr<net::http_metrics> http_metrics_;
  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<net::http_server> server_;
};

// test_broker on a free port with `partitions` per topic and one shard.
class broker_process : public test_support::broker_process {
public:
  explicit broker_process(const std::filesystem::path& data_dir, int partitions = 1)
      : test_support::broker_process(free_port(), data_dir,
                                     {"--partitions", std::to_string(partitions), "--shards", "1"}) {}
};

}  // namespace substrate::bus::testing
