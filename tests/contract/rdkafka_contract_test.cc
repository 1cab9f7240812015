// librdkafka 2.0.2 (C++ and admin C API) against the broker, and the same scenarios against
// librdkafka's built-in mock cluster (rdkafka_mock.h), so a failure on both points at the
// client or the test and a failure on `substrate` alone at our broker.
//
// Every test runs once per cluster (the gtest parameter):
//   substrate  test_broker started as a child process on port 0 and a temporary data dir
//              (path from TEST_BROKER_BINARY, else the one this binary was built with), or an
//              external broker given by KAFKA_BOOTSTRAP=host:port;
//   mock       a one-broker mock cluster in this process.
// Each test process starts its own clusters, so CTest may run the cases in parallel.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Clusters

class cluster {
public:
  virtual ~cluster() = default;
  virtual std::string bootstrap() const = 0;
  // Creates a topic with an exact partition count (the admin API on our broker; the mock's own
  // call on the mock, whose CreateTopics is not what is under test there).
  virtual void create_topic(const std::string& topic, int partitions) = 0;
  // The broker's data dir when it is a local test_broker: lets a test look at the stored batches.
  virtual std::optional<std::filesystem::path> data_dir() const { return std::nullopt; }
  virtual bool is_mock() const { return false; }
};

std::string error_text(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

// A client handle for the admin API (a producer: admin requests need no group).
std::unique_ptr<RdKafka::Producer> make_admin_client(const std::string& bootstrap) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", bootstrap, error);
  conf->set("client.id", "rdkafka-contract-admin", error);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) throw std::runtime_error("cannot create admin client: " + error);
  return producer;
}

struct admin_options_deleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct queue_deleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct event_deleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;

std::unique_ptr<rd_kafka_AdminOptions_t, admin_options_deleter> admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op) {
  std::unique_ptr<rd_kafka_AdminOptions_t, admin_options_deleter> options(rd_kafka_AdminOptions_new(rk, op));
  char error[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), 15000, error, sizeof error);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), 10000, error, sizeof error);
  }
  return options;
}

// Waits for the result event of one admin call on `queue` (bounded: the request timeout is 15 s).
event_ptr admin_result(rd_kafka_queue_t* queue) {
  event_ptr event(rd_kafka_queue_poll(queue, 30000));
  if (!event) throw std::runtime_error("no admin result within 30 s");
  return event;
}

// CreateTopics for one topic; returns the per-topic error.
rd_kafka_resp_err_t create_topic_via_admin(rd_kafka_t* rk, const std::string& topic, int partitions,
                                           const std::map<std::string, std::string>& configs = {}) {
  char error[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof error);
  if (!new_topic) throw std::runtime_error(std::string("NewTopic: ") + error);
  for (const auto& [name, value] : configs) rd_kafka_NewTopic_set_config(new_topic, name.c_str(), value.c_str());
  std::unique_ptr<rd_kafka_queue_t, queue_deleter> queue(rd_kafka_queue_new(rk));
  auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_CreateTopics(rk, &new_topic, 1, options.get(), queue.get());
  rd_kafka_NewTopic_destroy(new_topic);
  auto event = admin_result(queue.get());
  if (auto err = rd_kafka_event_error(event.get()); err) return err;
  size_t count = 0;
  const auto** results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
  if (count != 1) throw std::runtime_error("CreateTopics: expected one topic result");
  return rd_kafka_topic_result_error(results[0]);
}

rd_kafka_resp_err_t delete_topic_via_admin(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_DeleteTopic_t* del = rd_kafka_DeleteTopic_new(topic.c_str());
  std::unique_ptr<rd_kafka_queue_t, queue_deleter> queue(rd_kafka_queue_new(rk));
  auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_DeleteTopics(rk, &del, 1, options.get(), queue.get());
  rd_kafka_DeleteTopic_destroy(del);
  auto event = admin_result(queue.get());
  if (auto err = rd_kafka_event_error(event.get()); err) return err;
  size_t count = 0;
  const auto** results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event.get()), &count);
  if (count != 1) throw std::runtime_error("DeleteTopics: expected one topic result");
  return rd_kafka_topic_result_error(results[0]);
}

struct described_configs {
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::map<std::string, std::string> entries;
};

described_configs describe_topic_configs(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_ConfigResource_t* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  std::unique_ptr<rd_kafka_queue_t, queue_deleter> queue(rd_kafka_queue_new(rk));
  auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_DescribeConfigs(rk, &resource, 1, options.get(), queue.get());
  rd_kafka_ConfigResource_destroy(resource);
  auto event = admin_result(queue.get());
  described_configs out;
  if (auto err = rd_kafka_event_error(event.get()); err) {
    out.error = err;
    return out;
  }
  size_t count = 0;
  const auto** resources =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event.get()), &count);
  if (count != 1) throw std::runtime_error("DescribeConfigs: expected one resource");
  out.error = rd_kafka_ConfigResource_error(resources[0]);
  size_t entries = 0;
  const auto** configs = rd_kafka_ConfigResource_configs(resources[0], &entries);
  for (size_t i = 0; i < entries; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(configs[i]);
    out.entries[rd_kafka_ConfigEntry_name(configs[i])] = value ? value : "<null>";
  }
  return out;
}

// test_broker as a child process: `listening <port>` on its stdout says it accepts connections.
class substrate_cluster final : public cluster {
public:
  substrate_cluster() {
    if (const char* external = std::getenv("KAFKA_BOOTSTRAP"); external && *external) {
      bootstrap_ = external;
      return;
    }
    const char* binary = std::getenv("TEST_BROKER_BINARY");
    const std::string broker = binary && *binary ? binary : SUBSTRATE_TEST_BROKER;
    char pattern[] = "/tmp/substrate-rdkafka-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    data_dir_ = pattern;
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const std::string dir = data_dir_.string();
    std::vector<std::string> args{broker, "--port", "0", "--data-dir", dir, "--partitions", "3"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, broker.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      throw std::runtime_error("cannot start " + broker + ": " + std::strerror(rc));
    }
    // Read until the port line; EOF means the broker died (its stderr is ours).
    FILE* stream = fdopen(out[0], "r");
    char line[256];
    int port = 0;
    while (port == 0 && std::fgets(line, sizeof line, stream)) std::sscanf(line, "listening %d", &port);
    // Keep draining stdout so the broker never blocks on a full pipe.
    reader_ = std::thread([stream] {
      char buffer[256];
      while (std::fgets(buffer, sizeof buffer, stream)) {
      }
      std::fclose(stream);
    });
    if (port == 0) throw std::runtime_error(broker + " exited before listening");
    bootstrap_ = "127.0.0.1:" + std::to_string(port);
    admin_ = make_admin_client(bootstrap_);
  }

  ~substrate_cluster() override {
    admin_.reset();
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
    if (!data_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(data_dir_, ec);
    }
  }

  std::string bootstrap() const override { return bootstrap_; }

  void create_topic(const std::string& topic, int partitions) override {
    if (!admin_) admin_ = make_admin_client(bootstrap_);
    auto err = create_topic_via_admin(admin_->c_ptr(), topic, partitions);
    if (err) throw std::runtime_error("CreateTopics " + topic + ": " + error_text(err));
  }

  std::optional<std::filesystem::path> data_dir() const override {
    if (data_dir_.empty()) return std::nullopt;
    return data_dir_;
  }

private:
  std::string bootstrap_;
  std::filesystem::path data_dir_;
  pid_t pid_ = -1;
  std::thread reader_;
  std::unique_ptr<RdKafka::Producer> admin_;
};

class mock_cluster final : public cluster {
public:
  mock_cluster() {
    handle_ = make_admin_client("");  // only hosts the mock cluster
    mock_ = rd_kafka_mock_cluster_new(handle_->c_ptr(), 1);
    if (!mock_) throw std::runtime_error("cannot create the librdkafka mock cluster");
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_);
  }
  ~mock_cluster() override {
    rd_kafka_mock_cluster_destroy(mock_);
    handle_.reset();
  }
  std::string bootstrap() const override { return bootstrap_; }
  void create_topic(const std::string& topic, int partitions) override {
    if (auto err = rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions, 1); err) {
      throw std::runtime_error("mock topic create " + topic + ": " + error_text(err));
    }
  }
  bool is_mock() const override { return true; }

private:
  std::unique_ptr<RdKafka::Producer> handle_;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  std::string bootstrap_;
};

// ---------------------------------------------------------------------------------------------
// Records, producing and consuming

struct record {
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::int64_t timestamp_ms = 0;
};

struct consumed {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  record rec;
  RdKafka::MessageTimestamp::MessageTimestampType timestamp_type{};
};

// Keys and values with every byte value (including NUL and bytes above 0x7f) so "identical"
// means byte for byte, not string for string.
std::vector<record> make_records(const std::string& prefix, int count, std::size_t value_bytes = 100) {
  std::vector<record> out;
  const std::int64_t base_ms = 1'700'000'000'000;
  for (int i = 0; i < count; ++i) {
    record r;
    r.key = prefix + "-key-" + std::to_string(i);
    r.key.push_back(static_cast<char>(i & 0xff));
    r.value.reserve(value_bytes);
    for (std::size_t j = 0; j < value_bytes; ++j) r.value.push_back(static_cast<char>((i * 31 + j * 7) & 0xff));
    r.headers = {{"trace", "t-" + std::to_string(i)}, {"bin", std::string("\0\x01\xff", 3)}};
    r.timestamp_ms = base_ms + i;
    out.push_back(std::move(r));
  }
  return out;
}

// Compressible values: repetitive text, so every batch shrinks under every codec.
std::vector<record> make_compressible_records(const std::string& prefix, int count) {
  std::vector<record> out;
  for (int i = 0; i < count; ++i) {
    record r;
    r.key = prefix + "-" + std::to_string(i);
    std::string value;
    for (int j = 0; j < 12; ++j) value += "{\"field\":\"compressible value\",\"n\":" + std::to_string(i) + "}";
    r.value = value;
    r.headers = {{"codec", prefix}};
    out.push_back(std::move(r));
  }
  return out;
}

struct delivery {
  RdKafka::ErrorCode error = RdKafka::ERR__STATE;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  bool reported = false;
};

class delivery_collector final : public RdKafka::DeliveryReportCb {
public:
  explicit delivery_collector(std::size_t count) : deliveries_(count) {}
  void dr_cb(RdKafka::Message& message) override {
    auto index = reinterpret_cast<std::uintptr_t>(message.msg_opaque());
    auto& d = deliveries_.at(index);
    d.error = message.err();
    d.partition = message.partition();
    d.offset = message.offset();
    d.reported = true;
  }
  const std::vector<delivery>& deliveries() const { return deliveries_; }

private:
  std::vector<delivery> deliveries_;
};

std::unique_ptr<RdKafka::Conf> make_conf(const cluster& c, const std::map<std::string, std::string>& settings) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  auto set = [&](const std::string& name, const std::string& value) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(name + ": " + error);
  };
  set("bootstrap.servers", c.bootstrap());
  for (const auto& [name, value] : settings) set(name, value);
  return conf;
}

// Produces `records` (partition -1 = the client's partitioner) and waits for every delivery
// report (bounded by message.timeout.ms).
std::vector<delivery> produce(const cluster& c, const std::string& topic, const std::vector<record>& records,
                              std::map<std::string, std::string> settings, std::int32_t partition = -1,
                              const std::function<std::int32_t(std::size_t)>& partition_of = nullptr) {
  delivery_collector collector(records.size());
  settings.emplace("message.timeout.ms", "30000");
  auto conf = make_conf(c, settings);
  std::string error;
  conf->set("dr_cb", &collector, error);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) throw std::runtime_error("cannot create producer: " + error);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    auto* headers = RdKafka::Headers::create();
    for (const auto& [name, value] : r.headers) headers->add(name, value.data(), value.size());
    const std::int32_t target =
        partition_of ? partition_of(i) : (partition >= 0 ? partition : RdKafka::Topic::PARTITION_UA);
    for (;;) {
      auto err = producer->produce(topic, target, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(r.value.data()),
                                   r.value.size(), r.key.data(), r.key.size(), r.timestamp_ms, headers,
                                   reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)));
      if (err == RdKafka::ERR_NO_ERROR) break;
      if (err != RdKafka::ERR__QUEUE_FULL) {
        delete headers;
        throw std::runtime_error("produce: " + RdKafka::err2str(err));
      }
      producer->poll(100);
    }
  }
  const auto deadline = clock_type::now() + 60s;
  while (producer->outq_len() > 0 && clock_type::now() < deadline) producer->flush(1000);
  EXPECT_EQ(producer->outq_len(), 0) << "deliveries outstanding after 60 s";
  producer->poll(0);
  return collector.deliveries();
}

std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(const cluster& c, const std::string& group,
                                                      std::map<std::string, std::string> settings = {}) {
  settings.emplace("group.id", group);
  settings.emplace("enable.auto.commit", "false");
  settings.emplace("auto.offset.reset", "earliest");
  settings.emplace("enable.partition.eof", "false");
  auto conf = make_conf(c, settings);
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) throw std::runtime_error("cannot create consumer: " + error);
  return consumer;
}

consumed to_consumed(const RdKafka::Message& m) {
  consumed out;
  out.partition = m.partition();
  out.offset = m.offset();
  if (m.key()) out.rec.key = *m.key();
  out.rec.value.assign(static_cast<const char*>(m.payload()), m.len());
  if (const RdKafka::Headers* headers = const_cast<RdKafka::Message&>(m).headers()) {
    for (const auto& h : headers->get_all()) {
      out.rec.headers.emplace_back(h.key(), std::string(static_cast<const char*>(h.value()), h.value_size()));
    }
  }
  const auto ts = m.timestamp();
  out.rec.timestamp_ms = ts.timestamp;
  out.timestamp_type = ts.type;
  return out;
}

// Reads every partition of `topic` from the beginning with an explicit assignment (no group
// coordination) until `count` records arrived or 60 s passed.
std::vector<consumed> consume_from_beginning(const cluster& c, const std::string& topic, int partitions,
                                             std::size_t count) {
  auto consumer = make_consumer(c, "reader-" + topic);
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int p = 0; p < partitions; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  EXPECT_EQ(consumer->assign(assignment), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(assignment);
  std::vector<consumed> out;
  const auto deadline = clock_type::now() + 60s;
  while (out.size() < count && clock_type::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      out.push_back(to_consumed(*m));
    } else if (m->err() != RdKafka::ERR__TIMED_OUT) {
      ADD_FAILURE() << "consume: " << m->errstr();
    }
  }
  // Anything beyond `count` would be a duplicate or a stray record: give it a moment to show.
  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR_NO_ERROR) out.push_back(to_consumed(*m));
  }
  consumer->close();
  return out;
}

// Every delivered record was consumed exactly once, byte for byte, at the offset its delivery
// report gave, and offsets are dense from 0 in send order within each partition.
void expect_round_trip(const std::vector<record>& sent, const std::vector<delivery>& deliveries,
                       const std::vector<consumed>& got, bool check_timestamps) {
  ASSERT_EQ(deliveries.size(), sent.size());
  std::map<std::pair<std::int32_t, std::int64_t>, std::size_t> by_position;
  std::map<std::int32_t, std::vector<std::size_t>> send_order;  // partition -> record indexes
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const auto& d = deliveries[i];
    ASSERT_TRUE(d.reported) << "no delivery report for record " << i;
    ASSERT_EQ(d.error, RdKafka::ERR_NO_ERROR) << "record " << i << ": " << RdKafka::err2str(d.error);
    ASSERT_TRUE(by_position.emplace(std::make_pair(d.partition, d.offset), i).second)
        << "two records delivered at " << d.partition << "/" << d.offset;
    send_order[d.partition].push_back(i);
  }
  for (const auto& [partition, indexes] : send_order) {
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      ASSERT_EQ(deliveries[indexes[k]].offset, static_cast<std::int64_t>(k))
          << "partition " << partition << ": offsets dense from 0 in send order";
    }
  }
  ASSERT_EQ(got.size(), sent.size()) << "consumed record count";
  std::map<std::int32_t, std::int64_t> next_offset;
  for (const auto& g : got) {
    auto it = by_position.find({g.partition, g.offset});
    ASSERT_NE(it, by_position.end()) << "consumed a record nobody produced at " << g.partition << "/" << g.offset;
    const auto& s = sent[it->second];
    EXPECT_EQ(g.rec.key, s.key) << "key at " << g.partition << "/" << g.offset;
    EXPECT_EQ(g.rec.value, s.value) << "value at " << g.partition << "/" << g.offset;
    EXPECT_EQ(g.rec.headers, s.headers) << "headers at " << g.partition << "/" << g.offset;
    if (check_timestamps) {
      EXPECT_EQ(g.rec.timestamp_ms, s.timestamp_ms) << "timestamp at " << g.partition << "/" << g.offset;
      EXPECT_EQ(g.timestamp_type, RdKafka::MessageTimestamp::MSG_TIMESTAMP_CREATE_TIME);
    }
    EXPECT_EQ(g.offset, next_offset[g.partition]) << "in order within partition " << g.partition;
    next_offset[g.partition] = g.offset + 1;
  }
}

// The compression codec (attributes bits 0-2) of every RecordBatch stored for `topic`: the
// broker keeps batches as the client sent them (docs/formats/log.md: `<data_dir>/<topic>-<p>/`
// holds segments of whole batches back to back, the preallocated tail zero).
std::vector<int> stored_batch_codecs(const std::filesystem::path& data_dir, const std::string& topic, int partitions) {
  std::vector<int> codecs;
  for (int p = 0; p < partitions; ++p) {
    const auto dir = data_dir / (topic + "-" + std::to_string(p));
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".log") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto be = [&](std::size_t at, int width) {
        std::uint64_t v = 0;
        for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
        return v;
      };
      std::size_t pos = 0;
      while (pos + 61 <= bytes.size()) {
        const auto length = static_cast<std::uint32_t>(be(pos + 8, 4));
        if (length == 0) break;  // the zeroed preallocated tail
        codecs.push_back(static_cast<int>(be(pos + 21, 2) & 0x7));
        pos += 12 + length;
      }
    }
  }
  return codecs;
}

// ---------------------------------------------------------------------------------------------
// Group coordinator probe

// FindCoordinator v0 for `group` over a plain socket: true when the broker names a coordinator.
// Lets the group tests say "coordinator absent" instead of timing out while the broker does not
// serve groups yet (it answers COORDINATOR_NOT_AVAILABLE, 15).
bool broker_has_group_coordinator(const std::string& bootstrap, const std::string& group) {
  const auto colon = bootstrap.rfind(':');
  const std::string host = bootstrap.substr(0, colon);
  const int port = std::stoi(bootstrap.substr(colon + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  std::string body;
  auto put16 = [&](std::uint16_t v) {
    body.push_back(static_cast<char>(v >> 8));
    body.push_back(static_cast<char>(v & 0xff));
  };
  put16(10);                     // FindCoordinator
  put16(0);                      // v0
  body.append("\0\0\0\x07", 4);  // correlation id 7
  put16(5);
  body += "probe";
  put16(static_cast<std::uint16_t>(group.size()));
  body += group;
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((body.size() >> (8 * (3 - i))) & 0xff);
  frame += body;
  bool ok = write(fd, frame.data(), frame.size()) == static_cast<ssize_t>(frame.size());
  unsigned char head[10];
  std::size_t got = 0;
  while (ok && got < sizeof head) {
    const auto n = read(fd, head + got, sizeof head - got);
    if (n <= 0)
      ok = false;
    else
      got += static_cast<std::size_t>(n);
  }
  close(fd);
  // size(4) correlation(4) error_code(2)
  return ok && head[8] == 0 && head[9] == 0;
}

// ---------------------------------------------------------------------------------------------
// Fixture

std::map<std::string, std::unique_ptr<cluster>>& clusters() {
  static std::map<std::string, std::unique_ptr<cluster>> all;
  return all;
}

class clusters_environment final : public ::testing::Environment {
public:
  void TearDown() override { clusters().clear(); }
};
[[maybe_unused]] auto* const environment = ::testing::AddGlobalTestEnvironment(new clusters_environment);

class rdkafka_contract : public ::testing::TestWithParam<std::string> {
protected:
  cluster& target() {
    auto& slot = clusters()[GetParam()];
    if (!slot) {
      if (GetParam() == "mock")
        slot = std::make_unique<mock_cluster>();
      else
        slot = std::make_unique<substrate_cluster>();
    }
    return *slot;
  }
  // Topic and group names unique per test and cluster.
  std::string name(const std::string& what) const {
    return what + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  std::string topic_name(const std::string& what) const {
    std::string n = name(what);
    for (auto& ch : n) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ch = '-';
    }
    return n;
  }
};

// ---------------------------------------------------------------------------------------------
// Tests

TEST_P(rdkafka_contract, idempotent_acks_all_round_trips_keys_values_headers_in_order) {
  auto& c = target();
  const auto topic = topic_name("idem");
  c.create_topic(topic, 3);
  const auto sent = make_records("idem", 3000);
  const auto deliveries =
      produce(c, topic, sent, {{"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "5"}});
  std::set<std::int32_t> partitions;
  for (const auto& d : deliveries) partitions.insert(d.partition);
  EXPECT_EQ(partitions.size(), 3u) << "keys spread over all three partitions";
  expect_round_trip(sent, deliveries, consume_from_beginning(c, topic, 3, sent.size()), true);
}

TEST_P(rdkafka_contract, every_compression_codec_round_trips_and_is_stored_as_sent) {
  auto& c = target();
  const std::map<std::string, int> codecs{{"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}};
  for (const auto& [codec, id] : codecs) {
    SCOPED_TRACE(codec);
    const auto topic = topic_name("codec-" + codec);
    c.create_topic(topic, 2);
    const auto sent = make_compressible_records(codec, 1000);
    const auto deliveries =
        produce(c, topic, sent, {{"acks", "all"}, {"compression.codec", codec}, {"linger.ms", "20"}});
    expect_round_trip(sent, deliveries, consume_from_beginning(c, topic, 2, sent.size()), false);
    if (auto dir = c.data_dir()) {
      const auto stored = stored_batch_codecs(*dir, topic, 2);
      ASSERT_FALSE(stored.empty()) << "no batches found under " << dir->string();
      for (int stored_codec : stored) EXPECT_EQ(stored_codec, id) << "a stored batch's codec";
    }
  }
}

// Polls each consumer in turn (consume() also drives the group protocol) until `done` holds or
// the deadline passes; returns whether `done` held.
bool poll_until(const std::vector<RdKafka::KafkaConsumer*>& consumers, std::vector<std::vector<consumed>>& received,
                const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    if (done()) return true;
    for (std::size_t i = 0; i < consumers.size(); ++i) {
      std::unique_ptr<RdKafka::Message> m(consumers[i]->consume(50));
      if (m->err() == RdKafka::ERR_NO_ERROR) {
        received[i].push_back(to_consumed(*m));
      } else if (m->err() != RdKafka::ERR__TIMED_OUT) {
        ADD_FAILURE() << "consumer " << i << ": " << m->errstr();
      }
    }
  }
  return done();
}

std::set<std::int32_t> assigned(RdKafka::KafkaConsumer& consumer) {
  std::vector<RdKafka::TopicPartition*> parts;
  consumer.assignment(parts);
  std::set<std::int32_t> out;
  for (auto* p : parts) out.insert(p->partition());
  RdKafka::TopicPartition::destroy(parts);
  return out;
}

std::set<std::string> keys_of(const std::vector<consumed>& list) {
  std::set<std::string> out;
  for (const auto& c : list) out.insert(c.rec.key);
  return out;
}

TEST_P(rdkafka_contract, consumer_group_splits_rebalances_and_resumes_from_commits) {
  auto& c = target();
  const auto topic = topic_name("group");
  const auto group = topic_name("g");
  if (!c.is_mock() && !broker_has_group_coordinator(c.bootstrap(), group)) {
    GTEST_SKIP() << "the broker has no group coordinator yet (FindCoordinator answers an error)";
  }
  c.create_topic(topic, 6);
  const std::map<std::string, std::string> group_settings{
      {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "300"}, {"topic.metadata.refresh.interval.ms", "2000"}};
  constexpr int per_partition = 10;
  auto round = [&](const std::string& prefix) {
    auto recs = make_records(prefix, 6 * per_partition, 40);
    auto deliveries =
        produce(c, topic, recs, {{"acks", "all"}}, -1, [](std::size_t i) { return static_cast<std::int32_t>(i % 6); });
    for (const auto& d : deliveries) EXPECT_EQ(d.error, RdKafka::ERR_NO_ERROR);
    std::set<std::string> keys;
    for (const auto& r : recs) keys.insert(r.key);
    return keys;
  };

  // Two members split six partitions three and three.
  auto a = make_consumer(c, group, group_settings);
  auto b = make_consumer(c, group, group_settings);
  ASSERT_EQ(a->subscribe({topic}), RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(b->subscribe({topic}), RdKafka::ERR_NO_ERROR);
  std::vector<std::vector<consumed>> received(2);
  const bool split = poll_until(
      {a.get(), b.get()}, received,
      [&] {
        auto pa = assigned(*a);
        auto pb = assigned(*b);
        if (pa.size() != 3 || pb.size() != 3) return false;
        for (auto p : pa)
          if (pb.count(p)) return false;
        return true;
      },
      60s);
  ASSERT_TRUE(split) << "assignments: " << assigned(*a).size() << " and " << assigned(*b).size();
  const auto parts_a = assigned(*a);
  const auto parts_b = assigned(*b);

  // Each consumes exactly the records of its own partitions.
  const auto first = round("first");
  ASSERT_TRUE(poll_until(
      {a.get(), b.get()}, received, [&] { return received[0].size() + received[1].size() >= first.size(); }, 60s))
      << "received " << received[0].size() + received[1].size() << " of " << first.size();
  poll_until(
      {a.get(), b.get()}, received, [] { return false; }, 1s);  // strays or duplicates would show here
  EXPECT_EQ(received[0].size() + received[1].size(), first.size()) << "no duplicates";
  for (const auto& m : received[0]) EXPECT_TRUE(parts_a.count(m.partition)) << "a got partition " << m.partition;
  for (const auto& m : received[1]) EXPECT_TRUE(parts_b.count(m.partition)) << "b got partition " << m.partition;
  auto all = keys_of(received[0]);
  for (const auto& k : keys_of(received[1])) all.insert(k);
  EXPECT_EQ(all, first);
  ASSERT_EQ(a->commitSync(), RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(b->commitSync(), RdKafka::ERR_NO_ERROR);

  // b leaves: a takes all six and continues from b's commits.
  ASSERT_EQ(b->close(), RdKafka::ERR_NO_ERROR);
  b.reset();
  std::vector<std::vector<consumed>> after_leave(1);
  ASSERT_TRUE(poll_until(
      {a.get()}, after_leave, [&] { return assigned(*a).size() == 6; }, 60s))
      << "a has " << assigned(*a).size() << " partitions after b left";
  const auto second = round("second");
  ASSERT_TRUE(poll_until(
      {a.get()}, after_leave, [&] { return after_leave[0].size() >= second.size(); }, 60s))
      << "received " << after_leave[0].size() << " of " << second.size();
  poll_until(
      {a.get()}, after_leave, [] { return false; }, 1s);
  EXPECT_EQ(after_leave[0].size(), second.size()) << "nothing committed is delivered again";
  EXPECT_EQ(keys_of(after_leave[0]), second);
  ASSERT_EQ(a->commitSync(), RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(a->close(), RdKafka::ERR_NO_ERROR);
  a.reset();

  // A restarted member resumes from the committed offsets: only the records produced since.
  const auto third = round("third");
  auto restarted = make_consumer(c, group, group_settings);
  ASSERT_EQ(restarted->subscribe({topic}), RdKafka::ERR_NO_ERROR);
  std::vector<std::vector<consumed>> after_restart(1);
  ASSERT_TRUE(poll_until(
      {restarted.get()}, after_restart, [&] { return after_restart[0].size() >= third.size(); }, 60s))
      << "received " << after_restart[0].size() << " of " << third.size();
  poll_until(
      {restarted.get()}, after_restart, [] { return false; }, 1s);
  EXPECT_EQ(after_restart[0].size(), third.size()) << "no re-delivery of committed records";
  EXPECT_EQ(keys_of(after_restart[0]), third) << "nothing skipped";
  std::map<std::int32_t, std::int64_t> first_offset;
  for (const auto& m : after_restart[0]) first_offset.emplace(m.partition, m.offset);
  for (const auto& [partition, offset] : first_offset) {
    EXPECT_EQ(offset, 2 * per_partition) << "partition " << partition << " resumes at the committed offset";
  }
  restarted->close();
}

TEST_P(rdkafka_contract, admin_creates_describes_and_deletes_topics) {
  auto& c = target();
  if (c.is_mock()) {
    // Checked: the mock's ApiVersions omits them and a CreateTopics call only times out.
    GTEST_SKIP() << "librdkafka 2.0.2's mock cluster implements no CreateTopics, DeleteTopics or "
                    "DescribeConfigs (rdkafka_mock_handlers.c), so there is nothing to compare against";
  }
  auto admin = make_admin_client(c.bootstrap());
  rd_kafka_t* rk = admin->c_ptr();
  const auto topic = topic_name("admin");
  auto created = create_topic_via_admin(rk, topic, 3, {{"retention.ms", "3600000"}, {"cleanup.policy", "delete"}});
  ASSERT_EQ(created, RD_KAFKA_RESP_ERR_NO_ERROR) << error_text(created);
  EXPECT_EQ(create_topic_via_admin(rk, topic, 3), RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(create_topic_via_admin(rk, "bad/name", 1), RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION);

  // Metadata lists the topic with its three partitions, all led by the one broker.
  auto find_topic = [&](int& partitions) {
    RdKafka::Metadata* raw = nullptr;
    if (admin->metadata(true, nullptr, &raw, 10000) != RdKafka::ERR_NO_ERROR) return false;
    std::unique_ptr<RdKafka::Metadata> md(raw);
    for (const auto* t : *md->topics()) {
      if (t->topic() != topic) continue;
      partitions = static_cast<int>(t->partitions()->size());
      for (const auto* p : *t->partitions()) EXPECT_EQ(p->leader(), md->brokers()->at(0)->id());
      return true;
    }
    return false;
  };
  int partitions = 0;
  ASSERT_TRUE(find_topic(partitions)) << "topic missing from metadata";
  EXPECT_EQ(partitions, 3);

  auto configs = describe_topic_configs(rk, topic);
  ASSERT_EQ(configs.error, RD_KAFKA_RESP_ERR_NO_ERROR) << error_text(configs.error);
  EXPECT_EQ(configs.entries["retention.ms"], "3600000");
  EXPECT_EQ(configs.entries["cleanup.policy"], "delete");
  EXPECT_EQ(describe_topic_configs(rk, "no-such-topic").error, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);

  ASSERT_EQ(delete_topic_via_admin(rk, topic), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto deadline = clock_type::now() + 10s;
  bool gone = false;
  while (!gone && clock_type::now() < deadline) {
    gone = !find_topic(partitions);
    if (!gone) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(gone) << "topic still listed after DeleteTopics";
  EXPECT_EQ(delete_topic_via_admin(rk, topic), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
}

INSTANTIATE_TEST_SUITE_P(clusters, rdkafka_contract, ::testing::Values("substrate", "mock"),
                         [](const auto& info) { return info.param; });

}  // namespace
