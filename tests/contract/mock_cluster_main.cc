// rdkafka_mock_cluster: librdkafka's built-in mock cluster (rdkafka_mock.h) as a process, so the
// kcat contract scenarios can run against it as well as against test_broker (differential: a
// scenario that fails on both points at the client or the test, one that fails only on ours at
// the broker).
//   rdkafka_mock_cluster [--topic NAME:PARTITIONS]...
// Prints `listening <port>` on stdout once the single mock broker accepts connections, then runs
// until SIGTERM or SIGINT. The mock cluster auto-creates unknown topics with its own default
// partition count (4 in librdkafka 2.0.2) and keeps everything in memory; --topic creates a topic
// with an exact partition count first.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock cluster; it never connects anywhere.
  if (rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error) != RD_KAFKA_CONF_OK) {
    std::cerr << "rdkafka_mock_cluster: " << error << "\n";
    return 1;
  }
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> handle(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error), &rd_kafka_destroy);
  if (!handle) {
    std::cerr << "rdkafka_mock_cluster: " << error << "\n";
    return 1;
  }
  std::unique_ptr<rd_kafka_mock_cluster_t, decltype(&rd_kafka_mock_cluster_destroy)> cluster(
      rd_kafka_mock_cluster_new(handle.get(), 1), &rd_kafka_mock_cluster_destroy);
  if (!cluster) {
    std::cerr << "rdkafka_mock_cluster: cannot create the mock cluster\n";
    return 1;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag != "--topic" || i + 1 >= argc) {
      std::cerr << "usage: rdkafka_mock_cluster [--topic NAME:PARTITIONS]...\n";
      return 2;
    }
    const std::string spec = argv[++i];
    const auto colon = spec.rfind(':');
    int partitions = 0;
    try {
      partitions = colon == std::string::npos ? 0 : std::stoi(spec.substr(colon + 1));
    } catch (const std::exception&) {
      partitions = 0;
    }
    if (partitions <= 0) {
      std::cerr << "rdkafka_mock_cluster: bad --topic '" << spec << "' (want NAME:PARTITIONS)\n";
      return 2;
    }
    const std::string name = spec.substr(0, colon);
    if (auto err = rd_kafka_mock_topic_create(cluster.get(), name.c_str(), partitions, 1); err) {
      std::cerr << "rdkafka_mock_cluster: cannot create " << name << ": " << rd_kafka_err2str(err) << "\n";
      return 1;
    }
  }
  // One broker: the bootstrap list is "127.0.0.1:<port>" (the mock listens on loopback only).
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster.get());
  const auto colon = bootstraps.rfind(':');
  std::cout << "listening " << bootstraps.substr(colon + 1) << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  return 0;
}
