#pragma once
// A real http_server on 127.0.0.1 (port 0) with small limits, for the net tests.

#include <atomic>
#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include "core/metrics.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/observability.h"
#include "raw_client.h"

namespace substrate::testing {

class server_fixture : public ::testing::Test {
protected:
  void start_server(core::http_config limits) {
    pool_ = std::make_unique<net::io_pool>(2, 1);
    metrics_ = std::make_unique<core::metrics_registry>();
    http_metrics_ = std::make_unique<net::http_metrics>(*metrics_);
    ready_.add({"dependency", [this]() -> std::optional<std::string> {
                  if (dependency_up_) return std::nullopt;
                  return "dependency is down";
                }});
    auto routes = std::make_shared<net::router>();
    routes->add("GET", "/hello", [](net::http_request&) -> boost::asio::awaitable<net::http_response> {
      co_return net::http_response::text(200, "hello");
    });
    routes->add("POST", "/echo", [](net::http_request& r) -> boost::asio::awaitable<net::http_response> {
      co_return net::http_response::text(200, r.body);
    });
    routes->add("GET", "/slow", [this](net::http_request&) -> boost::asio::awaitable<net::http_response> {
      ++slow_started_;
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(400));
      co_await timer.async_wait(boost::asio::use_awaitable);
      co_return net::http_response::text(200, "finally");
    });
    routes->add("GET", "/big", [](net::http_request&) -> boost::asio::awaitable<net::http_response> {
      // Larger than loopback's socket buffers, so a client that does not read stalls the write.
      co_return net::http_response::text(200, std::string(big_body_bytes, 'b'));
    });
    routes->add("GET", "/throw", [](net::http_request&) -> boost::asio::awaitable<net::http_response> {
      throw std::runtime_error("handler bug");
      co_return net::http_response{};
    });
    routes->add("GET", "/items/{id}", [](net::http_request& r) -> boost::asio::awaitable<net::http_response> {
      co_return net::http_response::text(200, r.param("id") + "|" + r.query_param("q").value_or("-"));
    });
    add_extra_routes(*routes);
    net::add_observability_routes(*routes, *metrics_, ready_, pool_->blocking());
    server_ = std::make_unique<net::http_server>(*pool_, net::http_server_options{"test", "127.0.0.1", 0, limits},
                                                 routes, *http_metrics_);
    pool_->start();
    server_->start();
    port_ = server_->port();
  }

  virtual void add_extra_routes(net::router&) {}

  static core::http_config small_limits() {
    core::http_config limits;
    limits.body_bytes_max = 1024;
    limits.header_bytes_max = 2048;
    limits.read_timeout_ms = 300;
    limits.idle_timeout_ms = 600;
    limits.write_timeout_ms = 2000;
    limits.connections_max = 64;
    limits.shutdown_grace_ms = 3000;
    limits.cors_origins = {"http://app.test"};
    limits.access_log = false;
    return limits;
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (pool_) pool_->stop();
  }

  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<core::metrics_registry> metrics_;
  std::unique_ptr<net::http_metrics> http_metrics_;
  net::readiness ready_;
  std::atomic<bool> dependency_up_{true};
  std::atomic<int> slow_started_{0};
  static constexpr std::size_t big_body_bytes = 64u << 20;
  std::unique_ptr<net::http_server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace substrate::testing
