// test_broker: the broker alone, for the real-client contract tests (tests/contract/*.test.mjs).
//   test_broker --port N --data-dir DIR [--partitions N] [--shards N] [--segment-bytes N]
//               [--metrics-file PATH] [--group-initial-rebalance-delay-ms N]
// With --metrics-file, the metrics (Prometheus text) are written there after a clean shutdown
// (bench/kafka reads the produced batches and syncs from it).
// Prints `listening <port>` on stdout once it accepts connections, then runs until SIGTERM or
// SIGINT, and shuts down in order: broker (wakes long-polls, final sync), listener, threads.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "kafka/broker/broker.h"
#include "net/io_pool.h"

int main(int argc, char** argv) {
  using namespace substrate;
  std::uint16_t port = 0;
  std::size_t shards = 2;
  kafka::broker_config config;
  std::string metrics_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--port") {
      port = static_cast<std::uint16_t>(std::stoi(value));
    } else if (flag == "--data-dir") {
      config.data_dir = value;
    } else if (flag == "--partitions") {
      config.default_partitions = std::stoi(value);
    } else if (flag == "--metrics-file") {
      metrics_file = value;
    } else if (flag == "--segment-bytes") {
      config.default_topic.segment_bytes = std::stoll(value);
    } else if (flag == "--group-initial-rebalance-delay-ms") {
      config.group_initial_rebalance_delay_ms = std::stoll(value);
    } else if (flag == "--shards") {
      shards = static_cast<std::size_t>(std::stoi(value));
    } else {
      std::cerr << "test_broker: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (config.data_dir.empty()) {
    std::cerr << "usage: test_broker --port N --data-dir DIR [--partitions N] [--shards N] [--segment-bytes N] "
                 "[--metrics-file PATH] [--group-initial-rebalance-delay-ms N]\n";
    return 2;
  }
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    core::metrics_registry registry;
    net::io_pool pool(shards, 2);
    kafka::kafka_metrics kafka_metrics(registry);
    config.advertised_port = port;
    kafka::broker broker(pool, config, registry);
    kafka::kafka_server_options options;
    options.port = port;
    kafka::kafka_server server(pool, options, broker, kafka_metrics);
    pool.start();
    server.start();
    broker.set_advertised_port(server.port());
    std::cout << "listening " << server.port() << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    broker.stop();
    server.stop();
    pool.stop();
    if (!metrics_file.empty()) std::ofstream(metrics_file) << registry.render();
  } catch (const std::exception& e) {
    std::cerr << "test_broker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
