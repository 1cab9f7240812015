// Crash safety of the broker with a real client: librdkafka (Debian's 2.0.2, the C API) as an
// acks=all idempotent producer writing continuously numbered records while test_broker is killed
// with SIGKILL at random moments and restarted on the same data dir and port. At the end a
// consumer reads every partition and every acknowledged record must be there exactly once, at
// the offset its delivery report gave, in production order. A second case damages the tail of
// the active segment while the broker is down (garbage after the last batch, then a batch cut in
// half) and checks that recovery truncates it and the broker serves everything before it.
//
// The broker is tests/contract/broker_main.cc (test_broker), started as a child process.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../support/broker_process.h"

namespace {

using namespace std::chrono_literals;

using substrate::test_support::free_port;

class temp_dir : public substrate::test_support::temp_dir {
public:
  temp_dir() : substrate::test_support::temp_dir("substrate-crash") {}
};

// test_broker with 256 KiB segments.
class broker_process : public substrate::test_support::broker_process {
public:
  broker_process(std::uint16_t port, const std::filesystem::path& data_dir, int partitions)
      : substrate::test_support::broker_process(
            port, data_dir, {"--partitions", std::to_string(partitions), "--segment-bytes", "262144"}) {}
};

struct rd_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using client_ptr = std::unique_ptr<rd_kafka_t, rd_deleter>;

rd_kafka_conf_t* base_config(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  // The broker is down often: retry connections quickly instead of backing off to 10 s.
  const std::pair<const char*, const char*> settings[] = {
      {"bootstrap.servers", bootstrap.c_str()},
      {"reconnect.backoff.ms", "20"},
      {"reconnect.backoff.max.ms", "200"},
      {"retry.backoff.ms", "20"},
      {"batch.num.messages", "200"},
      {"log_level", "2"},
  };
  for (const auto& [name, value] : settings) {
    EXPECT_EQ(rd_kafka_conf_set(conf, name, value, error, sizeof(error)), RD_KAFKA_CONF_OK) << name << ": " << error;
  }
  return conf;
}

void set(rd_kafka_conf_t* conf, const char* name, const char* value) {
  char error[512];
  EXPECT_EQ(rd_kafka_conf_set(conf, name, value, error, sizeof(error)), RD_KAFKA_CONF_OK) << name << ": " << error;
}

// What a delivery report said about one record.
struct acknowledged {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

struct producer_state {
  std::map<std::int64_t, acknowledged> acked;  // sequence number -> where it went
  std::size_t failed = 0;
  std::string last_failure;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& state = *static_cast<producer_state*>(opaque);
  const auto sequence = reinterpret_cast<std::intptr_t>(m->_private);
  if (m->err) {
    ++state.failed;
    state.last_failure = rd_kafka_err2str(m->err);
    return;
  }
  state.acked[sequence] = {m->partition, m->offset};
}

client_ptr make_producer(const std::string& bootstrap, producer_state& state) {
  rd_kafka_conf_t* conf = base_config(bootstrap);
  set(conf, "enable.idempotence", "true");
  set(conf, "acks", "all");
  set(conf, "message.timeout.ms", "120000");
  set(conf, "linger.ms", "2");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &state);
  char error[512];
  client_ptr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error)));
  EXPECT_TRUE(rk) << error;
  return rk;
}

std::string payload(std::int64_t sequence) {
  return fmt::format("record-{:010d}-{}", sequence, std::string(static_cast<std::size_t>(40 + sequence % 50), 'p'));
}

bool produce(rd_kafka_t* rk, const std::string& topic, std::int64_t sequence) {
  const std::string key = fmt::format("key-{}", sequence % 16);
  const std::string value = payload(sequence);
  const auto err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::intptr_t>(sequence))), RD_KAFKA_V_END);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

struct consumed {
  std::int64_t offset = -1;
  std::string value;
};

// Every record of one partition from the log start to the high watermark, with the legacy
// (simple) consumer: no group coordinator needed.
std::vector<consumed> consume_partition(const std::string& bootstrap, const std::string& topic,
                                        std::int32_t partition) {
  rd_kafka_conf_t* conf = base_config(bootstrap);
  char error[512];
  client_ptr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error)));
  EXPECT_TRUE(rk) << error;
  std::int64_t low = -1;
  std::int64_t high = -1;
  const auto watermarks = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), partition, &low, &high, 10'000);
  EXPECT_EQ(watermarks, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(watermarks);
  std::vector<consumed> out;
  if (watermarks != RD_KAFKA_RESP_ERR_NO_ERROR || high <= 0) return out;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  EXPECT_EQ(rd_kafka_consume_start(rkt, partition, RD_KAFKA_OFFSET_BEGINNING), 0);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((out.empty() || out.back().offset < high - 1) && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consume(rkt, partition, 1000);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.push_back({m->offset, std::string(static_cast<const char*>(m->payload), m->len)});
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ADD_FAILURE() << "consume " << topic << "-" << partition << ": " << rd_kafka_message_errstr(m);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consume_stop(rkt, partition);
  rd_kafka_topic_destroy(rkt);
  EXPECT_FALSE(out.empty() || out.back().offset < high - 1)
      << topic << "-" << partition << ": read up to " << (out.empty() ? -1 : out.back().offset) << " of " << high;
  return out;
}

std::optional<std::int64_t> sequence_of(const std::string& value) {
  if (value.size() < 17 || value.compare(0, 7, "record-") != 0) return std::nullopt;
  return std::stoll(value.substr(7, 10));
}

TEST(kafka_crash, every_acknowledged_record_survives_sigkill_exactly_once_and_in_order) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  constexpr int partitions = 2;
  const std::string topic = "crash";
  broker_process broker(free_port(), data, partitions);
  broker.start();

  producer_state state;
  std::atomic<bool> producing{true};
  std::int64_t produced = 0;
  std::string fatal;
  std::thread producer([&] {
    auto rk = make_producer(broker.bootstrap(), state);
    while (producing) {
      // About 4000 records a second, in small bursts; a full queue just waits for the broker.
      for (int i = 0; i < 20 && producing; ++i) {
        if (produce(rk.get(), topic, produced)) {
          ++produced;
        } else {
          break;
        }
      }
      rd_kafka_poll(rk.get(), 5);
      char reason[512];
      if (rd_kafka_fatal_error(rk.get(), reason, sizeof(reason))) {
        fatal = reason;
        return;
      }
    }
    const auto flushed = rd_kafka_flush(rk.get(), 60'000);
    if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) fatal = std::string("flush: ") + rd_kafka_err2str(flushed);
  });

  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(100, 600);
  constexpr int kills = 22;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    broker.kill_now();
    broker.start();
    if (::testing::Test::HasFatalFailure()) break;
  }
  std::this_thread::sleep_for(500ms);
  producing = false;
  producer.join();
  ASSERT_EQ(fatal, "");
  EXPECT_EQ(state.failed, 0u) << state.last_failure;
  ASSERT_GT(state.acked.size(), 1000u) << "too few records were acknowledged to mean anything";

  // Every record read, by sequence number: where it is, and never twice.
  std::map<std::int64_t, acknowledged> found;
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::int64_t previous = -1;
    for (const auto& r : consume_partition(broker.bootstrap(), topic, p)) {
      const auto sequence = sequence_of(r.value);
      ASSERT_TRUE(sequence) << "unexpected value at " << p << "/" << r.offset;
      ASSERT_EQ(r.value, payload(*sequence)) << "damaged record at " << p << "/" << r.offset;
      EXPECT_TRUE(found.emplace(*sequence, acknowledged{p, r.offset}).second)
          << "record " << *sequence << " is in the log twice";
      EXPECT_GT(*sequence, previous) << "partition " << p << " out of order at offset " << r.offset;
      previous = *sequence;
    }
  }
  std::size_t missing = 0;
  for (const auto& [sequence, where] : state.acked) {
    auto it = found.find(sequence);
    if (it == found.end()) {
      if (++missing <= 10) ADD_FAILURE() << "acknowledged record " << sequence << " is lost";
      continue;
    }
    EXPECT_EQ(it->second.partition, where.partition) << "record " << sequence;
    EXPECT_EQ(it->second.offset, where.offset) << "record " << sequence;
  }
  EXPECT_EQ(missing, 0u);
  std::printf("crash test: %d kills, %lld produced, %zu acknowledged, %zu in the log\n", kills,
              static_cast<long long>(produced), state.acked.size(), found.size());
  broker.stop();
}

// The batches of a segment file up to its logical end: (position, size).
std::vector<std::pair<std::uint64_t, std::uint64_t>> batches_of(const std::filesystem::path& log) {
  std::ifstream in(log, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  std::uint64_t at = 0;
  while (at + 12 <= bytes.size()) {
    std::uint32_t length = 0;
    std::memcpy(&length, bytes.data() + at + 8, 4);
    length = ntohl(length);
    if (length == 0 || at + 12 + length > bytes.size()) break;
    out.emplace_back(at, 12 + length);
    at += 12 + length;
  }
  return out;
}

std::filesystem::path active_segment(const std::filesystem::path& partition_dir) {
  std::filesystem::path last;
  for (const auto& entry : std::filesystem::directory_iterator(partition_dir)) {
    if (entry.path().extension() == ".log" && entry.path() > last) last = entry.path();
  }
  return last;
}

void produce_and_flush(const std::string& bootstrap, const std::string& topic, std::int64_t from, std::int64_t count,
                       producer_state& state) {
  auto rk = make_producer(bootstrap, state);
  for (std::int64_t s = from; s < from + count; ++s) {
    ASSERT_TRUE(produce(rk.get(), topic, s));
    rd_kafka_poll(rk.get(), 0);
  }
  ASSERT_EQ(rd_kafka_flush(rk.get(), 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(state.failed, 0u) << state.last_failure;
}

std::vector<std::string> values(const std::vector<consumed>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.value);
  return out;
}

TEST(kafka_crash, a_torn_tail_is_truncated_and_everything_before_it_is_served) {
  temp_dir dir;
  const auto data = dir.path() / "data";
  const std::string topic = "torn";
  broker_process broker(free_port(), data, 1);
  broker.start();
  producer_state state;
  produce_and_flush(broker.bootstrap(), topic, 0, 3000, state);
  const auto before = consume_partition(broker.bootstrap(), topic, 0);
  ASSERT_EQ(before.size(), 3000u);
  broker.kill_now();

  // 1. Garbage after the last batch (where the preallocated tail holds zeros).
  const auto segment = active_segment(data / "torn-0");
  auto batches = batches_of(segment);
  ASSERT_GE(batches.size(), 1u);
  const auto end = batches.back().first + batches.back().second;
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end));
    std::mt19937 random(7);
    for (int i = 0; i < 300; ++i) f.put(static_cast<char>(random() | 1));
  }
  broker.start();
  EXPECT_EQ(values(consume_partition(broker.bootstrap(), topic, 0)), values(before));
  produce_and_flush(broker.bootstrap(), topic, 3000, 10, state);
  const auto with_more = consume_partition(broker.bootstrap(), topic, 0);
  ASSERT_EQ(with_more.size(), 3010u);
  EXPECT_EQ(with_more.back().value, payload(3009));
  broker.kill_now();

  // 2. The last batch cut in half: it goes, everything before it stays.
  batches = batches_of(segment);
  const auto [last_position, last_size] = batches.back();
  std::filesystem::resize_file(segment, last_position + last_size / 2);
  broker.start();
  const auto after = consume_partition(broker.bootstrap(), topic, 0);
  ASSERT_FALSE(after.empty());
  ASSERT_LT(after.size(), with_more.size());
  EXPECT_EQ(values(after), values(std::vector<consumed>(with_more.begin(), with_more.begin() + after.size())));
  // The broker goes on at the first lost offset.
  producer_state more;
  produce_and_flush(broker.bootstrap(), topic, 5000, 1, more);
  ASSERT_EQ(more.acked.size(), 1u);
  EXPECT_EQ(more.acked.begin()->second.offset, static_cast<std::int64_t>(after.size()));
  broker.stop();
}

}  // namespace
