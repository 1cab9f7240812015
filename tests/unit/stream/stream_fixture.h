#pragma once
// A real PostgreSQL (managed, fresh data dir, embedded migrations applied) and a real broker
// (test_broker as a child process on a free port) for the stream runtime tests.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "../../support/broker_process.h"
#include "../db/postgres_fixture.h"
#include "db/connection.h"
#include "db/migrations.h"

namespace substrate::stream::testing {

using namespace std::chrono_literals;

// test_broker with `partitions` per topic and no initial rebalance delay (groups form at once).
class broker_process : public test_support::broker_process {
public:
  broker_process(std::uint16_t port, const std::filesystem::path& data_dir, int partitions)
      : test_support::broker_process(
            port, data_dir, {"--partitions", std::to_string(partitions), "--group-initial-rebalance-delay-ms", "0"}) {}
};

class stream_fixture : public db::postgres_fixture {
protected:
  static constexpr int partitions = 2;

  void SetUp() override {
    postgres_fixture::SetUp();
    auto conn = db::connection::open(postgres().conninfo(), 5000);
    ASSERT_TRUE(conn) << conn.error().message();
    auto applied = db::apply_migrations(*conn, db::embedded_migrations());
    ASSERT_TRUE(applied) << applied.error().message();
    conn_.emplace(std::move(*conn));
    broker_ = std::make_unique<broker_process>(free_port(), std::filesystem::path(dir_.path) / "broker", partitions);
    broker_->start();
  }

  db::connection& sql() { return *conn_; }

  std::string scalar(const std::string& query) {
    auto r = conn_->exec(query);
    EXPECT_TRUE(r) << r.error().message();
    return r && r->rows() > 0 ? r->value(0, 0) : "";
  }

  // Waits (bounded) until `query` returns `expected`; returns the last value.
  std::string wait_for(const std::string& query, const std::string& expected, std::chrono::seconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string value;
    while (std::chrono::steady_clock::now() < deadline) {
      value = scalar(query);
      if (value == expected) return value;
      std::this_thread::sleep_for(50ms);
    }
    return value;
  }

  std::unique_ptr<RdKafka::Producer> make_producer() {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", broker_->bootstrap(), error);
    conf->set("enable.idempotence", "true", error);
    conf->set("linger.ms", "5", error);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    EXPECT_TRUE(producer) << error;
    return producer;
  }

  void produce(RdKafka::Producer& producer, const std::string& topic, std::int32_t partition, const std::string& value,
               const std::string& key = "") {
    for (;;) {
      auto err = producer.produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                  value.size(), key.empty() ? nullptr : key.data(), key.size(), 0, nullptr);
      if (err == RdKafka::ERR__QUEUE_FULL) {
        producer.poll(10);
        continue;
      }
      ASSERT_EQ(err, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(err);
      return;
    }
  }

  void flush(RdKafka::Producer& producer) { ASSERT_EQ(producer.flush(30000), RdKafka::ERR_NO_ERROR); }

  struct read_record {
    std::optional<std::string> key;
    std::string value;
    std::map<std::string, std::string> headers;
  };

  // All records of `topic` (every partition) from the beginning, read until `count` were seen
  // (copies: librdkafka's messages must not outlive their consumer).
  std::vector<read_record> read_topic(const std::string& topic, std::size_t count) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", broker_->bootstrap(), error);
    conf->set("group.id", "reader-" + topic, error);
    conf->set("auto.offset.reset", "earliest", error);
    conf->set("enable.auto.commit", "false", error);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    EXPECT_TRUE(consumer) << error;
    consumer->subscribe({topic});
    std::vector<read_record> out;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
      if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
      read_record r;
      if (m->key()) r.key = *m->key();
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      if (m->headers()) {
        for (const auto& h : m->headers()->get_all()) {
          r.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
        }
      }
      out.push_back(std::move(r));
    }
    consumer->close();
    return out;
  }

  std::optional<db::connection> conn_;
  std::unique_ptr<broker_process> broker_;
};

}  // namespace substrate::stream::testing
