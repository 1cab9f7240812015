// test_broker: the broker alone, for the real-client contract tests (tests/contract/*.test.mjs).
//   test_broker --port N --data-dir DIR [--partitions N] [--shards N] [--segment-bytes N]
//               [--metrics-file PATH] [--group-initial-rebalance-delay-ms N]
//               [--in-flight-requests-max N]
//               [--sasl-users FILE [--sasl-mechanisms PLAIN,SCRAM-SHA-256]]
//               [--acl-file FILE [--super-users User:a,User:b]]
// With --metrics-file, the metrics (Prometheus text) are written there after a clean shutdown
// (bench/kafka reads the produced batches and syncs from it), and also on each SIGUSR1 (written
// to PATH.tmp, then renamed to PATH, so a reader never sees half a file; bench/kafka takes a
// snapshot before and after each of its phases).
// --sasl-users turns SASL on with that users file (written by `substrate kafka user add`);
// --acl-file turns ACL checks on with that ACL file (`substrate kafka acl add`).
// Prints `listening <port>` on stdout once it accepts connections, then runs until SIGTERM or
// SIGINT, and shuts down in order: broker (wakes long-polls, final sync), listener, threads.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/broker/broker.h"
#include "kafka/security/acl.h"
#include "kafka/security/user_store.h"
#include "net/io_pool.h"

namespace {
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace substrate;
  std::uint16_t port = 0;
  std::size_t shards = 2;
  kafka::broker_config config;
  std::string metrics_file;
  std::string sasl_users;
  std::string sasl_mechanisms = "SCRAM-SHA-256,PLAIN";
  std::string acl_file;
  std::string super_users;
  std::size_t in_flight_requests_max = 0;
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
    } else if (flag == "--in-flight-requests-max") {
      in_flight_requests_max = static_cast<std::size_t>(std::stoul(value));
    } else if (flag == "--shards") {
      shards = static_cast<std::size_t>(std::stoi(value));
    } else if (flag == "--sasl-users") {
      sasl_users = value;
    } else if (flag == "--sasl-mechanisms") {
      sasl_mechanisms = value;
    } else if (flag == "--acl-file") {
      acl_file = value;
    } else if (flag == "--super-users") {
      super_users = value;
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
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    core::metrics_registry registry;
    net::io_pool pool(shards, 2);
    kafka::kafka_metrics kafka_metrics(registry);
    config.advertised_port = port;
    if (!acl_file.empty()) {
      config.authorizer = std::make_shared<kafka::security::authorizer>(
          kafka::security::authorizer_config{acl_file, split_commas(super_users)});
    }
    kafka::broker broker(pool, config, registry);
    kafka::kafka_server_options options;
    options.port = port;
    if (in_flight_requests_max > 0) options.in_flight_requests_max = in_flight_requests_max;
    if (!sasl_users.empty()) {
      options.sasl.enabled = true;
      options.sasl.mechanisms.clear();
      for (const auto& name : split_commas(sasl_mechanisms)) {
        auto m = kafka::security::parse_mechanism(name);
        if (!m) throw std::runtime_error("unknown SASL mechanism " + name);
        options.sasl.mechanisms.push_back(*m);
      }
      options.sasl.users = std::make_shared<kafka::security::user_store>(sasl_users);
      if (auto loaded = options.sasl.users->load(); !loaded) throw std::runtime_error(loaded.error().message());
    }
    kafka::kafka_server server(pool, options, broker, kafka_metrics);
    pool.start();
    server.start();
    broker.set_advertised_port(server.port());
    std::cout << "listening " << server.port() << std::endl;
    int received = 0;
    while (sigwait(&signals, &received) == 0 && received == SIGUSR1) {
      if (metrics_file.empty()) continue;
      std::ofstream(metrics_file + ".tmp") << registry.render();
      std::filesystem::rename(metrics_file + ".tmp", metrics_file);
    }
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
