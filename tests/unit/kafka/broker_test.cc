// The broker behind a real kafka_server on port 0, with a temporary data dir, driven through our
// codec over a socket: what a client sees, including across restarts.
#include "kafka/broker/broker.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "frame_client.h"
#include "kafka/broker/local_producer.h"
#include "kafka/protocol/error_codes.h"
#include "kafka/security/acl.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "net/io_pool.h"

namespace substrate::kafka {
namespace {

using testing::frame_client;

std::int16_t code(error_code e) {
  return static_cast<std::int16_t>(e);
}

// A producer batch as a client sends it (base offset 0), `count` records with keys and headers.
bytes make_batch(int count, std::int64_t timestamp_ms = 1'700'000'000'000, std::size_t value_bytes = 16,
                 std::int64_t producer_id = -1, std::int32_t base_sequence = -1) {
  log::batch_builder builder;
  if (producer_id >= 0) builder.producer(producer_id, 0, base_sequence);
  const std::string value(value_bytes, 'v');
  const log::header_view headers[] = {{"h", std::string_view("x")}};
  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(i);
    builder.add(key, value, timestamp_ms + i, headers);
  }
  auto built = builder.build();
  const auto* first = reinterpret_cast<const std::uint8_t*>(built.data());
  return bytes(first, first + built.size());
}

// The batch as the log stores it: only baseOffset differs.
bytes stored(bytes batch, std::int64_t base_offset) {
  log::set_base_offset(std::as_writable_bytes(std::span(batch)), base_offset);
  return batch;
}

class broker_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("substrate-broker-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    config_.data_dir = dir_;
    config_.default_partitions = 2;
    config_.cluster_id = "test-cluster";
    config_.node_id = 7;
    config_.group_initial_rebalance_delay_ms = 0;
    start();
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    registry_ = std::make_unique<core::metrics_registry>();
    pool_ = std::make_unique<net::io_pool>(shards_, 1);
    metrics_ = std::make_unique<kafka_metrics>(*registry_);
    broker_ = std::make_unique<broker>(*pool_, config_, *registry_);
    kafka_server_options options;
    options.port = 0;
    server_ = std::make_unique<kafka_server>(*pool_, options, *broker_, *metrics_);
    pool_->start();
    server_->start();
    broker_->set_advertised_port(server_->port());
  }
  void stop() {
    if (!server_) return;
    broker_->stop();
    server_->stop();
    pool_->stop();
    server_.reset();
    broker_.reset();
    pool_.reset();
    metrics_.reset();
  }
  void restart() {
    stop();
    start();
  }
  std::uint16_t port() const { return server_->port(); }

  message metadata(frame_client& client, std::vector<std::string> topics, bool allow_create = true) {
    message request = make_message(api_key::metadata, message_kind::request);
    for (auto& t : topics) request.append("topics").nullable_str("name") = t;
    request.boolean("allow_auto_topic_creation") = allow_create;
    return client.call(api_key::metadata, 6, request);
  }

  message produce_request(const std::string& topic, std::int32_t partition, const bytes& batch, std::int16_t acks) {
    message request = make_message(api_key::produce, message_kind::request);
    request.i16("acks") = acks;
    request.i32("timeout_ms") = 30'000;
    auto& t = request.append("topic_data");
    t.str("name") = topic;
    auto& p = t.append("partition_data");
    p.i32("index") = partition;
    p.batches("records").data = batch;
    return request;
  }
  // The partition response of a one-partition produce.
  message produce(frame_client& client, const std::string& topic, std::int32_t partition, const bytes& batch,
                  std::int16_t acks = -1, std::int16_t version = 7) {
    message response = client.call(api_key::produce, version, produce_request(topic, partition, batch, acks));
    EXPECT_EQ(response.array("responses").size(), 1u);
    return response.array("responses").at(0).array("partition_responses").at(0);
  }

  message fetch_request(const std::string& topic, std::int32_t partition, std::int64_t offset,
                        std::int32_t max_wait_ms = 0, std::int32_t min_bytes = 0, std::int32_t max_bytes = 50 << 20) {
    message request = make_message(api_key::fetch, message_kind::request);
    request.i32("replica_id") = -1;
    request.i32("max_wait_ms") = max_wait_ms;
    request.i32("min_bytes") = min_bytes;
    request.i32("max_bytes") = max_bytes;
    request.i8("isolation_level") = 1;
    request.i32("session_epoch") = -1;
    auto& t = request.append("topics");
    t.str("topic") = topic;
    auto& p = t.append("partitions");
    p.i32("partition") = partition;
    p.i64("fetch_offset") = offset;
    p.i32("partition_max_bytes") = 1 << 20;
    return request;
  }
  // The partition data of a one-partition fetch.
  message fetch(frame_client& client, const std::string& topic, std::int32_t partition, std::int64_t offset,
                std::int32_t max_wait_ms = 0, std::int32_t min_bytes = 0) {
    message response = client.call(api_key::fetch, 11, fetch_request(topic, partition, offset, max_wait_ms, min_bytes));
    EXPECT_EQ(response.i16("error_code"), 0);
    EXPECT_EQ(response.i32("session_id"), 0);
    return response.array("responses").at(0).array("partitions").at(0);
  }

  message list_offset(frame_client& client, const std::string& topic, std::int32_t partition, std::int64_t timestamp) {
    message request = make_message(api_key::list_offsets, message_kind::request);
    request.i32("replica_id") = -1;
    auto& t = request.append("topics");
    t.str("name") = topic;
    auto& p = t.append("partitions");
    p.i32("partition_index") = partition;
    p.i64("timestamp") = timestamp;
    message response = client.call(api_key::list_offsets, 3, request);
    return response.array("topics").at(0).array("partitions").at(0);
  }

  message create_topic(frame_client& client, const std::string& name, std::int32_t partitions,
                       std::vector<std::pair<std::string, std::string>> configs = {}, std::int16_t replication = -1,
                       bool validate_only = false) {
    message request = make_message(api_key::create_topics, message_kind::request);
    auto& t = request.append("topics");
    t.str("name") = name;
    t.i32("num_partitions") = partitions;
    t.i16("replication_factor") = replication;
    for (auto& [k, v] : configs) {
      auto& c = t.append("configs");
      c.str("name") = k;
      c.nullable_str("value") = v;
    }
    request.i32("timeout_ms") = 10'000;
    request.boolean("validate_only") = validate_only;
    message response = client.call(api_key::create_topics, 4, request);
    return response.array("topics").at(0);
  }

  std::int64_t counter_value(const std::string& name) {
    const std::string text = registry_->render();
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
  }

  std::filesystem::path dir_;
  std::size_t shards_ = 2;
  broker_config config_;
  std::unique_ptr<core::metrics_registry> registry_;
  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<kafka_metrics> metrics_;
  std::unique_ptr<broker> broker_;
  std::unique_ptr<kafka_server> server_;
};

TEST_F(broker_test, metadata_describes_the_node_and_auto_creates_topics) {
  frame_client client(port());
  message response = metadata(client, {"events"});
  ASSERT_EQ(response.array("brokers").size(), 1u);
  const auto& node = response.array("brokers")[0];
  EXPECT_EQ(node.i32("node_id"), 7);
  EXPECT_EQ(node.str("host"), "127.0.0.1");
  EXPECT_EQ(node.i32("port"), port());
  EXPECT_EQ(response.i32("controller_id"), 7);
  EXPECT_EQ(response.nullable_str("cluster_id"), "test-cluster");
  ASSERT_EQ(response.array("topics").size(), 1u);
  const auto& topic = response.array("topics")[0];
  EXPECT_EQ(topic.i16("error_code"), 0);
  EXPECT_EQ(topic.nullable_str("name"), "events");
  ASSERT_EQ(topic.array("partitions").size(), 2u);
  for (std::int32_t i = 0; i < 2; ++i) {
    const auto& p = topic.array("partitions")[static_cast<std::size_t>(i)];
    EXPECT_EQ(p.i32("partition_index"), i);
    EXPECT_EQ(p.i32("leader_id"), 7);
    ASSERT_EQ(p.values("replica_nodes").size(), 1u);
    EXPECT_EQ(std::get<std::int32_t>(p.values("isr_nodes").at(0)), 7);
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "events-0" / "topic.properties"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "events-1"));

  // A null topic list is every topic (v1); an empty one none.
  message all = make_message(api_key::metadata, message_kind::request);
  all.set_null("topics", true);
  message listed = client.call(api_key::metadata, 1, all);
  ASSERT_EQ(listed.array("topics").size(), 1u);
  EXPECT_EQ(metadata(client, {}).array("topics").size(), 0u);

  message refused = metadata(client, {"other"}, false);
  EXPECT_EQ(refused.array("topics").at(0).i16("error_code"), code(error_code::unknown_topic_or_partition));
  for (const std::string& bad : std::vector<std::string>{"has space", ".", "..", std::string(250, 'a'), ""}) {
    message invalid = metadata(client, {bad});
    EXPECT_EQ(invalid.array("topics").at(0).i16("error_code"), code(error_code::invalid_topic_exception)) << bad;
  }
  EXPECT_EQ(metadata(client, {std::string(249, 'a')}).array("topics").at(0).i16("error_code"), 0);
}

TEST_F(broker_test, auto_creation_can_be_disabled) {
  stop();
  config_.auto_create_topics = false;
  start();
  frame_client client(port());
  EXPECT_EQ(metadata(client, {"t"}).array("topics").at(0).i16("error_code"),
            code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(produce(client, "t", 0, make_batch(1)).i16("error_code"), code(error_code::unknown_topic_or_partition));
}

TEST_F(broker_test, produce_with_each_acks_then_fetch_returns_the_same_bytes) {
  frame_client client(port());
  const bytes first = make_batch(3);
  const bytes second = make_batch(5);
  const bytes third = make_batch(2);
  message r1 = produce(client, "t", 1, first, -1);
  EXPECT_EQ(r1.i16("error_code"), 0);
  EXPECT_EQ(r1.i64("base_offset"), 0);
  EXPECT_EQ(r1.i64("log_append_time_ms"), -1);
  EXPECT_EQ(r1.i64("log_start_offset"), 0);
  EXPECT_GE(counter_value("kafka_partition_syncs_total"), 1) << "acks=all answers after a sync";
  message r2 = produce(client, "t", 1, second, 1);
  EXPECT_EQ(r2.i16("error_code"), 0);
  EXPECT_EQ(r2.i64("base_offset"), 3);
  // acks=0: no response at all; the next request's response is the next frame.
  client.send_request(api_key::produce, 7, produce_request("t", 1, third, 0));
  EXPECT_EQ(list_offset(client, "t", 1, -1).i64("offset"), 10);

  message data = fetch(client, "t", 1, 0);
  EXPECT_EQ(data.i16("error_code"), 0);
  EXPECT_EQ(data.i64("high_watermark"), 10);
  EXPECT_EQ(data.i64("last_stable_offset"), 10);
  EXPECT_EQ(data.i64("log_start_offset"), 0);
  bytes expected = stored(first, 0);
  for (const auto& [b, offset] : {std::pair{second, 3}, std::pair{third, 8}}) {
    const bytes s = stored(b, offset);
    expected.insert(expected.end(), s.begin(), s.end());
  }
  ASSERT_TRUE(data.batches("records").data);
  EXPECT_EQ(*data.batches("records").data, expected);
  EXPECT_EQ(counter_value("kafka_produced_bytes_total"),
            static_cast<std::int64_t>(first.size() + second.size() + third.size()));
  EXPECT_EQ(counter_value("kafka_fetched_bytes_total"), static_cast<std::int64_t>(expected.size()));

  // At the end: empty and no error; past it or below the start: OFFSET_OUT_OF_RANGE.
  message at_end = fetch(client, "t", 1, 10);
  EXPECT_EQ(at_end.i16("error_code"), 0);
  EXPECT_TRUE(at_end.batches("records").data->empty());
  message past = fetch(client, "t", 1, 11);
  EXPECT_EQ(past.i16("error_code"), code(error_code::offset_out_of_range));
  EXPECT_EQ(past.i64("high_watermark"), 10);
  EXPECT_EQ(fetch(client, "t", 5, 0).i16("error_code"), code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(produce(client, "t", 2, first).i16("error_code"), code(error_code::unknown_topic_or_partition));
}

TEST_F(broker_test, fetch_bounds_the_response_but_returns_at_least_one_batch) {
  frame_client client(port());
  const bytes big = make_batch(4, 1'700'000'000'000, 1000);
  ASSERT_EQ(produce(client, "t", 0, big).i16("error_code"), 0);
  ASSERT_EQ(produce(client, "t", 0, big).i16("error_code"), 0);
  ASSERT_EQ(produce(client, "t", 1, big).i16("error_code"), 0);
  message request = fetch_request("t", 0, 0, 0, 0, 100);
  auto& p1 = request.array("topics")[0].append("partitions");
  p1.i32("partition") = 1;
  p1.i64("fetch_offset") = 0;
  p1.i32("partition_max_bytes") = 1 << 20;
  message response = client.call(api_key::fetch, 11, request);
  const auto& parts = response.array("responses").at(0).array("partitions");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(*parts[0].batches("records").data, stored(big, 0)) << "one whole batch over max_bytes";
  EXPECT_TRUE(parts[1].batches("records").data->empty()) << "nothing more once max_bytes is used";
  EXPECT_EQ(parts[1].i64("high_watermark"), 4);
}

TEST_F(broker_test, a_batch_with_a_bad_crc_is_corrupt_and_not_appended) {
  frame_client client(port());
  bytes batch = make_batch(3);
  batch[batch.size() - 1] ^= 0xff;
  EXPECT_EQ(produce(client, "t", 0, batch).i16("error_code"), code(error_code::corrupt_message));
  EXPECT_EQ(produce(client, "t", 0, bytes{1, 2, 3}).i16("error_code"), code(error_code::corrupt_message));
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("offset"), 0);
  EXPECT_EQ(produce(client, "t", 0, make_batch(1)).i64("base_offset"), 0);
}

// Produce is advertised from v0 (librdkafka 2.0.2 compresses gzip/snappy/lz4 only then; see
// schemas/produce.cc), but only RecordBatch v2 is stored: a pre-0.11 client's MessageSet v1 on
// Produce v0-2 gets INVALID_RECORD and nothing is written; a v2 batch on v0-2 is accepted.
TEST_F(broker_test, produce_v0_to_v2_accepts_only_record_batch_v2) {
  frame_client client(port());
  // One MessageSet v1 message: offset, size, crc, magic 1, attributes, timestamp, null key, value.
  bytes legacy;
  auto put = [&](std::uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) legacy.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  const std::string value(40, 'm');
  put(0, 8);
  put(4 + 1 + 1 + 8 + 4 + 4 + value.size(), 4);
  put(0x12345678, 4);
  put(1, 1);
  put(0, 1);
  put(1'700'000'000'000, 8);
  put(0xffffffff, 4);
  put(value.size(), 4);
  legacy.insert(legacy.end(), value.begin(), value.end());
  for (std::int16_t version : {0, 1, 2}) {
    SCOPED_TRACE(version);
    EXPECT_EQ(produce(client, "t", 0, legacy, -1, version).i16("error_code"), code(error_code::invalid_record));
  }
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("offset"), 0) << "nothing written";
  message accepted = produce(client, "t", 0, make_batch(2), -1, 2);
  EXPECT_EQ(accepted.i16("error_code"), 0);
  EXPECT_EQ(accepted.i64("base_offset"), 0);
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("offset"), 2);
}

TEST_F(broker_test, a_batch_over_max_message_bytes_is_too_large) {
  frame_client client(port());
  EXPECT_EQ(create_topic(client, "small", 1, {{"max.message.bytes", "1024"}}).i16("error_code"), 0);
  EXPECT_EQ(produce(client, "small", 0, make_batch(1, 0, 2000)).i16("error_code"), code(error_code::message_too_large));
  EXPECT_EQ(list_offset(client, "small", 0, -1).i64("offset"), 0);
  EXPECT_EQ(produce(client, "small", 0, make_batch(1, 0, 100)).i16("error_code"), 0);
}

TEST_F(broker_test, invalid_acks_and_transactional_produces_are_rejected) {
  frame_client client(port());
  EXPECT_EQ(produce(client, "t", 0, make_batch(1), 2).i16("error_code"), code(error_code::invalid_required_acks));
  message request = produce_request("t", 0, make_batch(1), -1);
  request.nullable_str("transactional_id") = "tx";
  message response = client.call(api_key::produce, 7, request);
  EXPECT_EQ(response.array("responses")[0].array("partition_responses")[0].i16("error_code"),
            code(error_code::transactional_id_authorization_failed));
}

TEST_F(broker_test, retention_deletes_old_segments_in_the_background) {
  stop();
  config_.retention_check_interval_ms = 20;
  start();
  frame_client client(port());
  ASSERT_EQ(create_topic(client, "ret", 1, {{"segment.bytes", "1024"}, {"retention.bytes", "1024"}}).i16("error_code"),
            0);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(produce(client, "ret", 0, make_batch(1, 1000, 300)).i16("error_code"), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Retention runs every 20 ms, also while the batches arrive: wait until the log start has
  // moved and then stayed put for several checks.
  std::int64_t start_offset = 0;
  int unchanged = 0;
  while ((start_offset == 0 || unchanged < 10) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::int64_t now = list_offset(client, "ret", 0, -2).i64("offset");
    unchanged = now == start_offset ? unchanged + 1 : 0;
    start_offset = now;
  }
  EXPECT_GT(start_offset, 0);
  EXPECT_EQ(fetch(client, "ret", 0, 0).i16("error_code"), code(error_code::offset_out_of_range));
  EXPECT_EQ(fetch(client, "ret", 0, start_offset).i16("error_code"), 0);
}

// Every record of a partition, read with Fetch from the log start to the high watermark:
// (offset, key, value). Checks that offsets strictly increase on the way.
struct read_record {
  std::int64_t offset;
  std::string key;
  std::optional<std::string> value;
};

TEST_F(broker_test, a_compact_topic_shrinks_in_the_background_while_it_is_read) {
  stop();
  config_.retention_check_interval_ms = 20;
  start();
  frame_client client(port());
  ASSERT_EQ(create_topic(client, "compacted", 1,
                         {{"cleanup.policy", "compact"}, {"segment.bytes", "4096"}, {"delete.retention.ms", "0"}})
                .i16("error_code"),
            0);
  // 8 keys overwritten again and again; key-7 ends deleted (a tombstone with no retention).
  std::map<std::string, std::optional<std::string>> latest;
  std::int64_t produced_bytes = 0;
  for (int b = 0; b < 150; ++b) {
    log::batch_builder builder;
    for (int r = 0; r < 4; ++r) {
      const int n = b * 4 + r;
      const std::string key = "key-" + std::to_string(n % 8);
      std::optional<std::string> value = "value-" + std::to_string(n) + std::string(100, 'v');
      if (b == 149 && key == "key-7") value.reset();
      builder.add(key, value, 1'700'000'000'000 + n);
      latest[key] = value;
    }
    auto built = builder.build();
    produced_bytes += static_cast<std::int64_t>(built.size());
    const auto* first = reinterpret_cast<const std::uint8_t*>(built.data());
    ASSERT_EQ(produce(client, "compacted", 0, bytes(first, first + built.size())).i16("error_code"), 0);
  }
  const std::int64_t high_watermark = list_offset(client, "compacted", 0, -1).i64("offset");
  ASSERT_EQ(high_watermark, 600);

  // Read everything again and again while compaction runs: every read is consistent (offsets
  // increase, the latest value of each key is there) and the bytes read shrink.
  auto read_all = [&](std::int64_t& total_bytes) {
    std::vector<read_record> out;
    std::int64_t offset = 0;
    total_bytes = 0;
    while (offset < high_watermark) {
      message data = fetch(client, "compacted", 0, offset);
      EXPECT_EQ(data.i16("error_code"), 0);
      const auto& records = data.batches("records").data;
      if (!records || records->empty()) break;
      total_bytes += static_cast<std::int64_t>(records->size());
      auto all = std::as_bytes(std::span(*records));
      for (std::size_t at = 0; at < all.size();) {
        auto h = log::validate_batch(all.subspan(at));
        EXPECT_TRUE(h);
        if (!h) return out;
        auto decoded = log::decode_records(all.subspan(at, h->size_bytes()));
        EXPECT_TRUE(decoded);
        for (const auto& r : *decoded) {
          const auto o = h->base_offset + r.offset_delta;
          EXPECT_TRUE(out.empty() || o > out.back().offset);
          out.push_back({o, std::string(*r.key), r.value ? std::optional<std::string>(*r.value) : std::nullopt});
        }
        offset = h->next_offset();
        at += h->size_bytes();
      }
    }
    return out;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::int64_t total = produced_bytes;
  int reads = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::int64_t bytes_now = 0;
    auto records = read_all(bytes_now);
    ++reads;
    std::map<std::string, std::optional<std::string>> seen;
    for (const auto& r : records) seen[r.key] = r.value;
    // The active segment is never compacted, and holds the last batches: every key's latest
    // value is always there (key-7's tombstone included).
    ASSERT_EQ(seen, latest) << "read " << reads;
    total = bytes_now;
    if (total < produced_bytes / 4 && counter_value("kafka_compactions_total") > 0) break;
  }
  EXPECT_LT(total, produced_bytes / 4) << "after " << reads << " reads";
  EXPECT_GT(counter_value("kafka_compaction_removed_records_total"), 0);
  // Offsets are unchanged and producing goes on after them.
  EXPECT_EQ(list_offset(client, "compacted", 0, -1).i64("offset"), 600);
  EXPECT_EQ(produce(client, "compacted", 0, make_batch(1)).i64("base_offset"), 600);
  restart();
  frame_client after(port());
  EXPECT_EQ(list_offset(after, "compacted", 0, -1).i64("offset"), 601);
}

TEST_F(broker_test, list_offsets_by_time_earliest_and_latest) {
  frame_client client(port());
  produce(client, "t", 0, make_batch(2, 1000));
  produce(client, "t", 0, make_batch(3, 2000));
  EXPECT_EQ(list_offset(client, "t", 0, -2).i64("offset"), 0);
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("offset"), 5);
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("timestamp"), -1);
  // By time: the first record at or after the time, with its own timestamp.
  message found = list_offset(client, "t", 0, 1500);
  EXPECT_EQ(found.i16("error_code"), 0);
  EXPECT_EQ(found.i64("offset"), 2);
  EXPECT_EQ(found.i64("timestamp"), 2000);
  EXPECT_EQ(list_offset(client, "t", 0, 2001).i64("offset"), 3);
  EXPECT_EQ(list_offset(client, "t", 0, 2001).i64("timestamp"), 2001);
  EXPECT_EQ(list_offset(client, "t", 0, 0).i64("offset"), 0);
  EXPECT_EQ(list_offset(client, "t", 0, 0).i64("timestamp"), 1000);
  EXPECT_EQ(list_offset(client, "t", 0, 9000).i64("offset"), -1);
  EXPECT_EQ(list_offset(client, "t", 0, 9000).i64("timestamp"), -1);
  EXPECT_EQ(list_offset(client, "nope", 0, -1).i16("error_code"), code(error_code::unknown_topic_or_partition));
}

TEST_F(broker_test, a_long_poll_returns_as_soon_as_a_produce_lands) {
  frame_client consumer(port());
  frame_client producer(port());
  metadata(producer, {"t"});
  const auto started = std::chrono::steady_clock::now();
  const auto id = consumer.send_request(api_key::fetch, 11, fetch_request("t", 0, 0, 8000, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the fetch park
  const bytes batch = make_batch(2);
  produce(producer, "t", 0, batch, 1);
  auto response = consumer.read_response(api_key::fetch, 11, id);
  ASSERT_TRUE(response);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::milliseconds(4000));
  const auto& data = response->array("responses").at(0).array("partitions").at(0);
  EXPECT_EQ(*data.batches("records").data, stored(batch, 0));
}

TEST_F(broker_test, a_long_poll_without_data_returns_empty_after_max_wait) {
  frame_client client(port());
  metadata(client, {"t"});
  const auto started = std::chrono::steady_clock::now();
  message data = fetch(client, "t", 0, 0, 300, 1);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::milliseconds(5000));
  EXPECT_EQ(data.i16("error_code"), 0);
  EXPECT_TRUE(data.batches("records").data->empty());
}

TEST_F(broker_test, stop_wakes_a_parked_fetch) {
  frame_client client(port());
  metadata(client, {"t"});
  const auto id = client.send_request(api_key::fetch, 11, fetch_request("t", 0, 0, 60'000, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto started = std::chrono::steady_clock::now();
  broker_->stop();
  auto response = client.read_response(api_key::fetch, 11, id);
  EXPECT_TRUE(response);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(5000));
}

TEST_F(broker_test, fetch_sessions_are_not_created) {
  frame_client client(port());
  metadata(client, {"t"});
  message request = fetch_request("t", 0, 0);
  request.i32("session_epoch") = 0;
  message response = client.call(api_key::fetch, 11, request);
  EXPECT_EQ(response.i16("error_code"), 0);
  EXPECT_EQ(response.i32("session_id"), 0);
  request.i32("session_id") = 42;
  request.i32("session_epoch") = 1;
  EXPECT_EQ(client.call(api_key::fetch, 11, request).i16("error_code"), code(error_code::fetch_session_id_not_found));
}

TEST_F(broker_test, create_and_delete_topics_with_configs_that_survive_a_restart) {
  frame_client client(port());
  message created = create_topic(
      client, "conf", 3, {{"retention.ms", "1234"}, {"cleanup.policy", "compact"}, {"segment.bytes", "1048576"}});
  EXPECT_EQ(created.i16("error_code"), 0);
  EXPECT_EQ(create_topic(client, "conf", 3).i16("error_code"), code(error_code::topic_already_exists));
  EXPECT_EQ(create_topic(client, "r3", 1, {}, 3).i16("error_code"), code(error_code::invalid_replication_factor));
  EXPECT_EQ(create_topic(client, "p0", 0).i16("error_code"), code(error_code::invalid_partitions));
  EXPECT_EQ(create_topic(client, "bad/name", 1).i16("error_code"), code(error_code::invalid_topic_exception));
  EXPECT_EQ(create_topic(client, "cfg", 1, {{"retention.ms", "soon"}}).i16("error_code"),
            code(error_code::invalid_config));
  EXPECT_EQ(create_topic(client, "cfg", 1, {{"no.such.config", "1"}}).i16("error_code"),
            code(error_code::invalid_config));
  EXPECT_EQ(create_topic(client, "dry", 1, {}, 1, true).i16("error_code"), 0);
  EXPECT_EQ(create_topic(client, "default", -1).i16("error_code"), 0);
  EXPECT_EQ(metadata(client, {"dry"}, false).array("topics")[0].i16("error_code"),
            code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(metadata(client, {"default"}, false).array("topics")[0].array("partitions").size(), 2u);
  produce(client, "conf", 2, make_batch(4));

  restart();
  frame_client after(port());
  message described = metadata(after, {"conf"}, false).array("topics").at(0);
  EXPECT_EQ(described.i16("error_code"), 0);
  EXPECT_EQ(described.array("partitions").size(), 3u);
  EXPECT_EQ(list_offset(after, "conf", 2, -1).i64("offset"), 4);

  message request = make_message(api_key::describe_configs, message_kind::request);
  auto& resource = request.append("resources");
  resource.i8("resource_type") = 2;
  resource.str("resource_name") = "conf";
  resource.set_null("configuration_keys", true);
  auto& node = request.append("resources");
  node.i8("resource_type") = 4;
  node.str("resource_name") = "7";
  node.set_null("configuration_keys", true);
  message configs = after.call(api_key::describe_configs, 2, request);
  ASSERT_EQ(configs.array("results").size(), 2u);
  std::map<std::string, std::pair<std::string, std::int8_t>> seen;
  for (const auto& c : configs.array("results")[0].array("configs")) {
    seen[c.str("name")] = {c.nullable_str("value").value_or("<null>"), c.i8("config_source")};
  }
  EXPECT_EQ(seen["retention.ms"], (std::pair<std::string, std::int8_t>{"1234", 1}));
  EXPECT_EQ(seen["cleanup.policy"], (std::pair<std::string, std::int8_t>{"compact", 1}));
  EXPECT_EQ(seen["segment.bytes"], (std::pair<std::string, std::int8_t>{"1048576", 1}));
  EXPECT_EQ(seen["retention.bytes"].second, 5);
  EXPECT_EQ(configs.array("results")[1].i16("error_code"), 0);
  EXPECT_FALSE(configs.array("results")[1].array("configs").empty());

  message deletion = make_message(api_key::delete_topics, message_kind::request);
  deletion.values("topic_names").emplace_back(std::string("conf"));
  deletion.values("topic_names").emplace_back(std::string("never-was"));
  message deleted = after.call(api_key::delete_topics, 1, deletion);
  ASSERT_EQ(deleted.array("responses").size(), 2u);
  EXPECT_EQ(deleted.array("responses")[0].i16("error_code"), 0);
  EXPECT_EQ(deleted.array("responses")[1].i16("error_code"), code(error_code::unknown_topic_or_partition));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "conf-0"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "conf-2"));
  EXPECT_EQ(fetch(after, "conf", 2, 0).i16("error_code"), code(error_code::unknown_topic_or_partition));
  // Created again, it starts from offset 0.
  EXPECT_EQ(produce(after, "conf", 0, make_batch(1)).i64("base_offset"), 0);

  restart();
  frame_client last(port());
  EXPECT_EQ(metadata(last, {"conf"}, false).array("topics")[0].array("partitions").size(), 2u);
}

TEST_F(broker_test, deleting_a_topic_with_a_parked_fetch_does_not_crash) {
  frame_client consumer(port());
  frame_client admin(port());
  metadata(admin, {"gone"});
  const auto id = consumer.send_request(api_key::fetch, 11, fetch_request("gone", 0, 0, 5000, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  message deletion = make_message(api_key::delete_topics, message_kind::request);
  deletion.values("topic_names").emplace_back(std::string("gone"));
  EXPECT_EQ(admin.call(api_key::delete_topics, 1, deletion).array("responses")[0].i16("error_code"), 0);
  auto response = consumer.read_response(api_key::fetch, 11, id);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->array("responses")[0].array("partitions")[0].i16("error_code"),
            code(error_code::unknown_topic_or_partition));
}

TEST_F(broker_test, idempotent_duplicates_get_the_original_offset_and_gaps_are_rejected) {
  frame_client client(port());
  message init = make_message(api_key::init_producer_id, message_kind::request);
  init.nullable_str("transactional_id") = std::nullopt;
  init.i32("transaction_timeout_ms") = 60'000;
  message first_id = client.call(api_key::init_producer_id, 4, init);
  EXPECT_EQ(first_id.i16("error_code"), 0);
  EXPECT_EQ(first_id.i16("producer_epoch"), 0);
  const std::int64_t pid = first_id.i64("producer_id");
  EXPECT_EQ(client.call(api_key::init_producer_id, 0, init).i64("producer_id"), pid + 1);

  EXPECT_EQ(produce(client, "t", 0, make_batch(1)).i64("base_offset"), 0);  // not idempotent
  message a = produce(client, "t", 0, make_batch(3, 1000, 16, pid, 0));
  EXPECT_EQ(a.i16("error_code"), 0);
  EXPECT_EQ(a.i64("base_offset"), 1);
  message b = produce(client, "t", 0, make_batch(2, 1000, 16, pid, 3));
  EXPECT_EQ(b.i64("base_offset"), 4);
  // A retry of either batch: success with the original offset, nothing appended.
  message again = produce(client, "t", 0, make_batch(3, 1000, 16, pid, 0));
  EXPECT_EQ(again.i16("error_code"), 0);
  EXPECT_EQ(again.i64("base_offset"), 1);
  EXPECT_EQ(produce(client, "t", 0, make_batch(2, 1000, 16, pid, 3)).i64("base_offset"), 4);
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("offset"), 6);
  // A gap, or going back to a sequence that is not one of the remembered batches.
  EXPECT_EQ(produce(client, "t", 0, make_batch(1, 1000, 16, pid, 9)).i16("error_code"),
            code(error_code::out_of_order_sequence_number));
  EXPECT_EQ(produce(client, "t", 0, make_batch(1, 1000, 16, pid, 1)).i16("error_code"),
            code(error_code::out_of_order_sequence_number));
  EXPECT_EQ(produce(client, "t", 0, make_batch(1, 1000, 16, pid, 5)).i64("base_offset"), 6);
  // Another producer has its own sequence space.
  EXPECT_EQ(produce(client, "t", 0, make_batch(1, 1000, 16, pid + 1, 0)).i64("base_offset"), 7);

  restart();
  frame_client after(port());
  EXPECT_EQ(after.call(api_key::init_producer_id, 4, init).i64("producer_id"), pid + 2) << "ids are never reused";
}

TEST_F(broker_test, idempotent_state_is_rebuilt_from_the_log_at_start_up) {
  frame_client client(port());
  message init = make_message(api_key::init_producer_id, message_kind::request);
  init.nullable_str("transactional_id") = std::nullopt;
  init.i32("transaction_timeout_ms") = 60'000;
  const std::int64_t pid = client.call(api_key::init_producer_id, 4, init).i64("producer_id");
  const std::int64_t other = client.call(api_key::init_producer_id, 4, init).i64("producer_id");
  // Seven batches of pid (more than the five remembered) interleaved with another producer.
  std::int32_t sequence = 0;
  std::vector<std::pair<std::int32_t, std::int64_t>> batches;  // (base sequence, base offset) of pid
  for (int i = 0; i < 7; ++i) {
    message r = produce(client, "idem", 0, make_batch(2, 1000, 16, pid, sequence));
    ASSERT_EQ(r.i16("error_code"), 0);
    batches.emplace_back(sequence, r.i64("base_offset"));
    sequence += 2;
    ASSERT_EQ(produce(client, "idem", 0, make_batch(1, 1000, 16, other, i)).i16("error_code"), 0);
  }
  const std::int64_t end = list_offset(client, "idem", 0, -1).i64("offset");

  restart();
  frame_client after(port());
  // Retries of the last five batches: success with their original offsets, nothing appended.
  for (std::size_t i = 2; i < batches.size(); ++i) {
    message retry = produce(after, "idem", 0, make_batch(2, 1000, 16, pid, batches[i].first));
    EXPECT_EQ(retry.i16("error_code"), 0);
    EXPECT_EQ(retry.i64("base_offset"), batches[i].second) << "batch " << i;
  }
  EXPECT_EQ(produce(after, "idem", 0, make_batch(1, 1000, 16, other, 6)).i64("base_offset"), end - 1);
  EXPECT_EQ(list_offset(after, "idem", 0, -1).i64("offset"), end);
  // The sequence state is known: an older batch or a gap is out of order; the next one appends.
  EXPECT_EQ(produce(after, "idem", 0, make_batch(2, 1000, 16, pid, 0)).i16("error_code"),
            code(error_code::out_of_order_sequence_number));
  EXPECT_EQ(produce(after, "idem", 0, make_batch(1, 1000, 16, pid, sequence + 1)).i16("error_code"),
            code(error_code::out_of_order_sequence_number));
  EXPECT_EQ(produce(after, "idem", 0, make_batch(1, 1000, 16, pid, sequence)).i64("base_offset"), end);
}

TEST_F(broker_test, a_restart_keeps_every_acknowledged_batch) {
  std::vector<bytes> sent;
  {
    frame_client client(port());
    std::int64_t next = 0;
    for (int i = 0; i < 20; ++i) {
      bytes batch = make_batch(1 + i % 4, 1000 + i);
      message r = produce(client, "keep", i % 2, batch, i % 3 == 0 ? 1 : -1);
      ASSERT_EQ(r.i16("error_code"), 0);
      if (i % 2 == 0) {
        EXPECT_EQ(r.i64("base_offset"), next);
        sent.push_back(stored(batch, next));
        next += 1 + i % 4;
      }
    }
  }
  restart();
  frame_client client(port());
  bytes expected;
  for (const auto& b : sent) expected.insert(expected.end(), b.begin(), b.end());
  message data = fetch(client, "keep", 0, 0);
  EXPECT_EQ(*data.batches("records").data, expected);
  EXPECT_EQ(produce(client, "keep", 0, make_batch(1)).i64("base_offset"), data.i64("high_watermark"));
}

TEST_F(broker_test, many_concurrent_acks_all_producers_share_syncs) {
  constexpr int producers = 4;
  constexpr int batches = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  {
    frame_client setup(port());
    metadata(setup, {"busy"});
  }
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      frame_client client(port());
      for (int i = 0; i < batches; ++i) {
        message r = produce(client, "busy", t % 2, make_batch(2));
        if (r.i16("error_code") != 0) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  frame_client client(port());
  EXPECT_EQ(list_offset(client, "busy", 0, -1).i64("offset") + list_offset(client, "busy", 1, -1).i64("offset"),
            producers * batches * 2);
  EXPECT_GE(counter_value("kafka_partition_syncs_total"), 1);
}

TEST_F(broker_test, one_sync_in_flight_per_partition_still_answers_every_acks_all_produce) {
  config_.syncs_in_flight_max = 1;
  restart();
  constexpr int producers = 3;
  constexpr int batches = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&] {
      frame_client client(port());
      for (int i = 0; i < batches; ++i) {
        if (produce(client, "single", 0, make_batch(1)).i16("error_code") != 0) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  frame_client client(port());
  EXPECT_EQ(list_offset(client, "single", 0, -1).i64("offset"), producers * batches);
}

TEST_F(broker_test, syncs_in_flight_max_below_one_is_refused_at_start) {
  stop();
  config_.syncs_in_flight_max = 0;
  registry_ = std::make_unique<core::metrics_registry>();
  net::io_pool pool(1, 1);
  try {
    broker refused(pool, config_, *registry_);
    FAIL() << "a broker with syncs_in_flight_max 0 started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("syncs_in_flight_max must be at least 1"), std::string::npos) << e.what();
  }
}

// ---- consumer groups (src/kafka/coordinator) over the wire --------------------------------------

message join_request(const std::string& member_id, const std::string& protocol = "range") {
  message request = make_message(api_key::join_group, message_kind::request);
  request.str("group_id") = "g";
  request.i32("session_timeout_ms") = 10'000;
  request.i32("rebalance_timeout_ms") = 30'000;
  request.str("member_id") = member_id;
  request.str("protocol_type") = "consumer";
  auto& p = request.append("protocols");
  p.str("name") = protocol;
  p.blob("metadata") = bytes{1, 2, 3};
  return request;
}

message sync_request(const std::string& member_id, std::int32_t generation,
                     std::vector<std::pair<std::string, bytes>> assignments = {}) {
  message request = make_message(api_key::sync_group, message_kind::request);
  request.str("group_id") = "g";
  request.i32("generation_id") = generation;
  request.str("member_id") = member_id;
  for (auto& [id, assignment] : assignments) {
    auto& a = request.append("assignments");
    a.str("member_id") = id;
    a.blob("assignment") = assignment;
  }
  return request;
}

message commit_request(const std::string& member_id, std::int32_t generation, const std::string& topic,
                       std::int32_t partition, std::int64_t offset) {
  message request = make_message(api_key::offset_commit, message_kind::request);
  request.str("group_id") = "g";
  request.i32("generation_id_or_member_epoch") = generation;
  request.str("member_id") = member_id;
  auto& t = request.append("topics");
  t.str("name") = topic;
  auto& p = t.append("partitions");
  p.i32("partition_index") = partition;
  p.i64("committed_offset") = offset;
  p.i32("committed_leader_epoch") = 3;
  p.nullable_str("committed_metadata") = "meta";
  return request;
}

message fetch_offsets_request(const std::string& topic, std::vector<std::int32_t> partitions) {
  message request = make_message(api_key::offset_fetch, message_kind::request);
  request.str("group_id") = "g";
  auto& t = request.append("topics");
  t.str("name") = topic;
  for (auto p : partitions) t.values("partition_indexes").emplace_back(p);
  request.boolean("require_stable") = true;
  return request;
}

// OffsetFetch v7, retried while the coordinator replays __consumer_offsets after a start.
message fetch_offsets(frame_client& client, const message& request) {
  for (int attempt = 0;; ++attempt) {
    message response = client.call(api_key::offset_fetch, 7, request);
    if (response.i16("error_code") != code(error_code::coordinator_load_in_progress) || attempt > 500) {
      return response;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_F(broker_test, find_coordinator_answers_this_node_for_groups_only) {
  frame_client client(port());
  message request = make_message(api_key::find_coordinator, message_kind::request);
  request.str("key") = "g";
  for (std::int16_t version : {0, 2}) {
    message response = client.call(api_key::find_coordinator, version, request);
    EXPECT_EQ(response.i16("error_code"), 0);
    EXPECT_EQ(response.i32("node_id"), 7);
    EXPECT_EQ(response.str("host"), "127.0.0.1");
    EXPECT_EQ(response.i32("port"), port());
  }
  request.i8("key_type") = 1;
  EXPECT_EQ(client.call(api_key::find_coordinator, 2, request).i16("error_code"),
            code(error_code::coordinator_not_available));
}

TEST_F(broker_test, a_group_of_two_over_two_connections_commits_offsets_that_survive_a_restart) {
  frame_client first(port());
  frame_client second(port());
  metadata(first, {"events"});  // two partitions
  auto a_required = first.call(api_key::join_group, 5, join_request(""));
  auto b_required = second.call(api_key::join_group, 5, join_request(""));
  ASSERT_EQ(a_required.i16("error_code"), code(error_code::member_id_required));
  ASSERT_EQ(b_required.i16("error_code"), code(error_code::member_id_required));
  std::string a = a_required.str("member_id");
  std::string b = b_required.str("member_id");
  EXPECT_TRUE(a.starts_with("test-client-")) << a;
  // The first join to arrive is parked until the other member joins too.
  const auto a_join = first.send_request(api_key::join_group, 5, join_request(a));
  message b_joined = second.call(api_key::join_group, 5, join_request(b));
  auto a_joined = first.read_response(api_key::join_group, 5, a_join);
  ASSERT_TRUE(a_joined);
  // Whoever arrived first leads: call the leader `a` and its connection `lead` from here on.
  frame_client* lead_client = &first;
  frame_client* follow_client = &second;
  if (a_joined->str("leader") != a) {
    std::swap(a, b);
    std::swap(lead_client, follow_client);
    std::swap(*a_joined, b_joined);
  }
  frame_client& lead = *lead_client;
  frame_client& follow = *follow_client;
  EXPECT_EQ(a_joined->i16("error_code"), 0);
  EXPECT_EQ(a_joined->i32("generation_id"), 1);
  EXPECT_EQ(a_joined->str("leader"), a);
  EXPECT_EQ(a_joined->str("protocol_name"), "range");
  EXPECT_EQ(a_joined->array("members").size(), 2u);
  EXPECT_EQ(b_joined.str("leader"), a);
  EXPECT_TRUE(b_joined.array("members").empty());

  const auto b_sync = follow.send_request(api_key::sync_group, 3, sync_request(b, 1));
  message a_synced = lead.call(api_key::sync_group, 3, sync_request(a, 1, {{a, bytes{0xa}}, {b, bytes{0xb}}}));
  auto b_synced = follow.read_response(api_key::sync_group, 3, b_sync);
  ASSERT_TRUE(b_synced);
  EXPECT_EQ(a_synced.blob("assignment"), bytes{0xa});
  EXPECT_EQ(b_synced->blob("assignment"), bytes{0xb});

  message beat = make_message(api_key::heartbeat, message_kind::request);
  beat.str("group_id") = "g";
  beat.i32("generation_id") = 1;
  beat.str("member_id") = b;
  EXPECT_EQ(follow.call(api_key::heartbeat, 3, beat).i16("error_code"), 0);
  beat.i32("generation_id") = 0;
  EXPECT_EQ(follow.call(api_key::heartbeat, 3, beat).i16("error_code"), code(error_code::illegal_generation));

  // Commits: a member of the current generation, a stale one, an unknown partition.
  auto committed = lead.call(api_key::offset_commit, 7, commit_request(a, 1, "events", 1, 42));
  EXPECT_EQ(committed.array("topics").at(0).array("partitions").at(0).i16("error_code"), 0);
  EXPECT_EQ(lead.call(api_key::offset_commit, 7, commit_request(a, 0, "events", 0, 1))
                .array("topics")
                .at(0)
                .array("partitions")
                .at(0)
                .i16("error_code"),
            code(error_code::illegal_generation));
  EXPECT_EQ(lead.call(api_key::offset_commit, 7, commit_request(a, 1, "events", 9, 1))
                .array("topics")
                .at(0)
                .array("partitions")
                .at(0)
                .i16("error_code"),
            code(error_code::unknown_topic_or_partition));
  EXPECT_GE(counter_value("kafka_offset_commits_total"), 1);

  auto fetched = fetch_offsets(first, fetch_offsets_request("events", {0, 1}));
  EXPECT_EQ(fetched.i16("error_code"), 0);
  const auto& partitions = fetched.array("topics").at(0).array("partitions");
  EXPECT_EQ(partitions.at(0).i64("committed_offset"), -1);
  EXPECT_EQ(partitions.at(0).nullable_str("metadata"), "");
  EXPECT_EQ(partitions.at(1).i64("committed_offset"), 42);
  EXPECT_EQ(partitions.at(1).i32("committed_leader_epoch"), 3);
  EXPECT_EQ(partitions.at(1).nullable_str("metadata"), "meta");

  message describe = make_message(api_key::describe_groups, message_kind::request);
  describe.values("groups").emplace_back(std::string("g"));
  auto described = lead.call(api_key::describe_groups, 2, describe).array("groups").at(0);
  EXPECT_EQ(described.str("group_state"), "Stable");
  EXPECT_EQ(described.str("protocol_data"), "range");
  EXPECT_EQ(described.array("members").size(), 2u);
  auto listed = lead.call(api_key::list_groups, 2, make_message(api_key::list_groups, message_kind::request));
  ASSERT_EQ(listed.array("groups").size(), 1u);
  EXPECT_EQ(listed.array("groups")[0].str("protocol_type"), "consumer");

  // b leaves (v3 batch form); a learns of the rebalance from its heartbeat.
  message leave = make_message(api_key::leave_group, message_kind::request);
  leave.str("group_id") = "g";
  leave.append("members").str("member_id") = b;
  leave.append("members").str("member_id") = "stranger";
  auto left = follow.call(api_key::leave_group, 3, leave);
  EXPECT_EQ(left.i16("error_code"), 0);
  EXPECT_EQ(left.array("members").at(0).i16("error_code"), 0);
  EXPECT_EQ(left.array("members").at(1).i16("error_code"), code(error_code::unknown_member_id));
  beat.i32("generation_id") = 1;
  beat.str("member_id") = a;
  EXPECT_EQ(lead.call(api_key::heartbeat, 3, beat).i16("error_code"), code(error_code::rebalance_in_progress));

  // The internal topic is listed as internal and closed to producers.
  message all = make_message(api_key::metadata, message_kind::request);
  all.set_null("topics", true);
  bool internal_listed = false;
  const message listing = lead.call(api_key::metadata, 4, all);
  for (const auto& t : listing.array("topics")) {
    if (t.nullable_str("name") == "__consumer_offsets") internal_listed = t.boolean("is_internal");
  }
  EXPECT_TRUE(internal_listed);
  EXPECT_EQ(produce(first, "__consumer_offsets", 0, make_batch(1)).i16("error_code"),
            code(error_code::invalid_topic_exception));

  restart();
  frame_client after(port());
  auto recovered = fetch_offsets(after, fetch_offsets_request("events", {1}));
  EXPECT_EQ(recovered.i16("error_code"), 0);
  EXPECT_EQ(recovered.array("topics").at(0).array("partitions").at(0).i64("committed_offset"), 42);
  // A null topic list (v2+) is every committed partition of the group.
  message every = make_message(api_key::offset_fetch, message_kind::request);
  every.str("group_id") = "g";
  every.set_null("topics", true);
  auto all_offsets = after.call(api_key::offset_fetch, 7, every);
  ASSERT_EQ(all_offsets.array("topics").size(), 1u);
  EXPECT_EQ(all_offsets.array("topics")[0].array("partitions").at(0).i32("partition_index"), 1);
  // Members did not survive: the old member id is unknown and rejoins.
  beat.str("member_id") = a;
  EXPECT_EQ(after.call(api_key::heartbeat, 3, beat).i16("error_code"), code(error_code::unknown_member_id));
}

TEST_F(broker_test, standalone_commits_and_deleting_a_topic_drops_its_offsets) {
  frame_client client(port());
  metadata(client, {"doomed"});
  auto committed = client.call(api_key::offset_commit, 2, commit_request("", -1, "doomed", 0, 7));
  EXPECT_EQ(committed.array("topics").at(0).array("partitions").at(0).i16("error_code"), 0);
  EXPECT_EQ(fetch_offsets(client, fetch_offsets_request("doomed", {0}))
                .array("topics")
                .at(0)
                .array("partitions")
                .at(0)
                .i64("committed_offset"),
            7);
  message request = make_message(api_key::delete_topics, message_kind::request);
  request.values("topic_names").emplace_back(std::string("doomed"));
  request.i32("timeout_ms") = 5000;
  EXPECT_EQ(client.call(api_key::delete_topics, 1, request).array("responses").at(0).i16("error_code"), 0);
  auto fetch_after = [&](frame_client& c) {
    return fetch_offsets(c, fetch_offsets_request("doomed", {0}))
        .array("topics")
        .at(0)
        .array("partitions")
        .at(0)
        .i64("committed_offset");
  };
  EXPECT_EQ(fetch_after(client), -1);
  restart();
  frame_client after(port());
  EXPECT_EQ(fetch_after(after), -1) << "the tombstones were persisted";
  // The internal topic cannot be deleted by clients.
  message internal = make_message(api_key::delete_topics, message_kind::request);
  internal.values("topic_names").emplace_back(std::string("__consumer_offsets"));
  EXPECT_EQ(after.call(api_key::delete_topics, 1, internal).array("responses").at(0).i16("error_code"),
            code(error_code::invalid_topic_exception));
}

TEST_F(broker_test, stop_answers_a_parked_join) {
  frame_client first(port());
  frame_client second(port());
  const std::string a = first.call(api_key::join_group, 5, join_request("")).str("member_id");
  (void)second.call(api_key::join_group, 5, join_request(""));  // pending: a's join waits for it
  const auto parked = first.send_request(api_key::join_group, 5, join_request(a));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  broker_->stop();
  auto answered = first.read_response(api_key::join_group, 5, parked);
  ASSERT_TRUE(answered);
  // NOT_COORDINATOR when it was parked; COORDINATOR_NOT_AVAILABLE if it arrived after stop().
  EXPECT_TRUE(answered->i16("error_code") == code(error_code::not_coordinator) ||
              answered->i16("error_code") == code(error_code::coordinator_not_available))
      << answered->i16("error_code");
}

// Topic ACLs in the handlers (spec 5.7). Without SASL every connection is User:ANONYMOUS, which
// is enough to drive each check; the SASL principal path is covered by kafka_server_sasl_test
// and the kcat contract test.
TEST_F(broker_test, acls_refuse_unauthorised_topics_in_every_handler) {
  {
    frame_client client(port());
    ASSERT_EQ(create_topic(client, "hidden", 1).i16("error_code"), 0);
    produce(client, "hidden", 0, make_batch(2));
  }
  using namespace security;
  const auto acl_file = dir_ / "acls.json";
  const std::string anonymous(anonymous_principal);
  for (auto op : {acl_operation::read, acl_operation::write, acl_operation::create}) {
    ASSERT_TRUE(
        add_acl(acl_file, {anonymous, resource_type::topic, pattern_type::prefixed, "ok.", op, acl_permission::allow}));
  }
  ASSERT_TRUE(add_acl(acl_file, {anonymous, resource_type::group, pattern_type::literal, "g1", acl_operation::read,
                                 acl_permission::allow}));
  config_.authorizer = std::make_shared<authorizer>(authorizer_config{acl_file, {}});
  restart();
  frame_client client(port());
  const auto denied = code(error_code::topic_authorization_failed);

  EXPECT_EQ(create_topic(client, "ok.a", 1).i16("error_code"), 0);
  EXPECT_EQ(create_topic(client, "other", 1).i16("error_code"), denied);
  EXPECT_EQ(produce(client, "ok.a", 0, make_batch(3)).i16("error_code"), 0);
  EXPECT_EQ(produce(client, "hidden", 0, make_batch(1)).i16("error_code"), denied);
  EXPECT_EQ(produce(client, "never", 0, make_batch(1)).i16("error_code"), denied);
  EXPECT_EQ(fetch(client, "ok.a", 0, 0).i16("error_code"), 0);
  EXPECT_EQ(fetch(client, "hidden", 0, 0).i16("error_code"), denied);
  EXPECT_EQ(list_offset(client, "ok.a", 0, -1).i64("offset"), 3);
  EXPECT_EQ(list_offset(client, "hidden", 0, -1).i16("error_code"), denied);

  message all = make_message(api_key::metadata, message_kind::request);
  all.set_null("topics", true);
  std::vector<std::string> listed;
  const message everything = client.call(api_key::metadata, 6, all);
  for (const auto& t : everything.array("topics")) {
    listed.push_back(t.nullable_str("name").value_or(""));
  }
  EXPECT_EQ(listed, std::vector<std::string>{"ok.a"}) << "unauthorised topics are left out";
  EXPECT_EQ(metadata(client, {"hidden"}).array("topics")[0].i16("error_code"), denied);
  EXPECT_EQ(metadata(client, {"other"}).array("topics")[0].i16("error_code"), denied) << "and not auto-created";

  message remove = make_message(api_key::delete_topics, message_kind::request);
  remove.values("topic_names").emplace_back(std::string("hidden"));
  remove.i32("timeout_ms") = 10'000;
  EXPECT_EQ(client.call(api_key::delete_topics, 1, remove).array("responses")[0].i16("error_code"), denied);

  message configs = make_message(api_key::describe_configs, message_kind::request);
  auto& resource = configs.append("resources");
  resource.i8("resource_type") = 2;
  resource.str("resource_name") = "hidden";
  resource.set_null("configuration_keys", true);
  auto& node = configs.append("resources");
  node.i8("resource_type") = 4;
  node.str("resource_name") = "7";
  node.set_null("configuration_keys", true);
  const auto results = client.call(api_key::describe_configs, 2, configs).array("results");
  EXPECT_EQ(results[0].i16("error_code"), denied);
  EXPECT_EQ(results[1].i16("error_code"), code(error_code::cluster_authorization_failed));

  message init = make_message(api_key::init_producer_id, message_kind::request);
  init.nullable_str("transactional_id") = std::nullopt;
  init.i32("transaction_timeout_ms") = 60'000;
  EXPECT_EQ(client.call(api_key::init_producer_id, 1, init).i16("error_code"), 0) << "WRITE on some topic suffices";

  connection_context anonymous_connection{"127.0.0.1", std::nullopt, {}, std::nullopt};
  EXPECT_EQ(broker_->authorize_group(anonymous_connection, "g1", acl_operation::read), error_code::none);
  EXPECT_EQ(broker_->authorize_group(anonymous_connection, "g1", acl_operation::describe), error_code::none);
  EXPECT_EQ(broker_->authorize_group(anonymous_connection, "g2", acl_operation::read),
            error_code::group_authorization_failed);
  connection_context alice{"127.0.0.1", std::nullopt, {}, std::string("User:alice")};
  EXPECT_EQ(broker_->authorize_topic(alice, "ok.a", acl_operation::read), error_code::topic_authorization_failed);
}

// Group ACLs around the coordinator (group_acls.h): group "g" may be read by User:ANONYMOUS,
// topic "ok.a" read, "hidden" not at all; group "g2" is closed.
TEST_F(broker_test, acls_guard_the_group_apis_and_the_committed_topics) {
  {
    frame_client client(port());
    ASSERT_EQ(create_topic(client, "hidden", 1).i16("error_code"), 0);
    ASSERT_EQ(create_topic(client, "ok.a", 1).i16("error_code"), 0);
  }
  using namespace security;
  const auto acl_file = dir_ / "acls.json";
  const std::string anonymous(anonymous_principal);
  ASSERT_TRUE(add_acl(acl_file, {anonymous, resource_type::topic, pattern_type::prefixed, "ok.", acl_operation::read,
                                 acl_permission::allow}));
  ASSERT_TRUE(add_acl(acl_file, {anonymous, resource_type::group, pattern_type::literal, "g", acl_operation::read,
                                 acl_permission::allow}));
  config_.authorizer = std::make_shared<authorizer>(authorizer_config{acl_file, {}});
  restart();
  frame_client client(port());
  const auto group_denied = code(error_code::group_authorization_failed);
  const auto topic_denied = code(error_code::topic_authorization_failed);

  message find = make_message(api_key::find_coordinator, message_kind::request);
  find.str("key") = "g2";
  EXPECT_EQ(client.call(api_key::find_coordinator, 2, find).i16("error_code"), group_denied);
  find.str("key") = "g";
  EXPECT_EQ(client.call(api_key::find_coordinator, 2, find).i16("error_code"), 0) << "READ implies DESCRIBE";

  message join_closed = join_request("");
  join_closed.str("group_id") = "g2";
  EXPECT_EQ(client.call(api_key::join_group, 5, join_closed).i16("error_code"), group_denied);
  EXPECT_EQ(client.call(api_key::join_group, 5, join_request("")).i16("error_code"),
            code(error_code::member_id_required));

  // A standalone commit of an allowed and an unreadable topic: only the first is written.
  message commit = commit_request("", -1, "ok.a", 0, 5);
  auto& hidden = commit.append("topics");
  hidden.str("name") = "hidden";
  hidden.append("partitions").i32("partition_index") = 0;
  hidden.array("partitions")[0].i64("committed_offset") = 9;
  const message committed = client.call(api_key::offset_commit, 7, commit);
  std::map<std::string, std::int16_t> commit_errors;
  for (const auto& t : committed.array("topics"))
    commit_errors[t.str("name")] = t.array("partitions").at(0).i16("error_code");
  EXPECT_EQ(commit_errors, (std::map<std::string, std::int16_t>{{"ok.a", 0}, {"hidden", topic_denied}}));
  message commit_closed = commit_request("", -1, "ok.a", 0, 5);
  commit_closed.str("group_id") = "g2";
  EXPECT_EQ(client.call(api_key::offset_commit, 7, commit_closed)
                .array("topics")
                .at(0)
                .array("partitions")
                .at(0)
                .i16("error_code"),
            group_denied);

  message fetch_both = fetch_offsets_request("ok.a", {0});
  auto& fetch_hidden = fetch_both.append("topics");
  fetch_hidden.str("name") = "hidden";
  fetch_hidden.values("partition_indexes").emplace_back(std::int32_t{0});
  const message fetched = fetch_offsets(client, fetch_both);
  ASSERT_EQ(fetched.array("topics").size(), 2u);
  EXPECT_EQ(fetched.array("topics")[0].array("partitions").at(0).i64("committed_offset"), 5);
  EXPECT_EQ(fetched.array("topics")[1].array("partitions").at(0).i16("error_code"), topic_denied);
  EXPECT_EQ(fetched.array("topics")[1].array("partitions").at(0).i64("committed_offset"), -1);

  message describe = make_message(api_key::describe_groups, message_kind::request);
  describe.values("groups").emplace_back(std::string("g"));
  describe.values("groups").emplace_back(std::string("g2"));
  const message described = client.call(api_key::describe_groups, 2, describe);
  EXPECT_EQ(described.array("groups").at(0).i16("error_code"), 0);
  EXPECT_EQ(described.array("groups").at(1).i16("error_code"), group_denied);
}

// ---- kafka::local_producer: the in-process path of `up`'s gateway -------------------------------

// Collects local_producer deliveries from whatever thread they arrive on.
class deliveries {
public:
  local_producer::callback expect() {
    std::lock_guard lock(mutex_);
    ++expected_;
    return [this](local_delivery d) {
      std::lock_guard lock(mutex_);
      got_.push_back(d);
      changed_.notify_all();
    };
  }
  std::vector<local_delivery> wait() {
    std::unique_lock lock(mutex_);
    const bool all = changed_.wait_for(lock, std::chrono::seconds(30), [&] { return got_.size() >= expected_; });
    EXPECT_TRUE(all) << got_.size() << " of " << expected_ << " deliveries";
    return got_;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t expected_ = 0;
  std::vector<local_delivery> got_;
};

// Every record of every batch in `data` (whole batches, as Fetch returns them), by offset:
// value and the value of its one header.
// `batches`, when given, gets each batch's base offset and record count.
std::map<std::int64_t, std::pair<std::string, std::string>> records_of(
    const bytes& data, std::map<std::int64_t, std::size_t>* batches = nullptr) {
  std::map<std::int64_t, std::pair<std::string, std::string>> out;
  auto rest = std::as_bytes(std::span(data));
  while (!rest.empty()) {
    auto header = log::validate_batch(rest);
    EXPECT_TRUE(header.has_value());
    if (!header) break;
    const auto size = header->size_bytes();
    auto records = log::decode_records(rest.first(size));
    EXPECT_TRUE(records.has_value());
    if (!records) break;
    for (const auto& r : *records) {
      EXPECT_FALSE(r.key.has_value());
      EXPECT_EQ(r.headers.size(), 1u);
      out[header->base_offset + r.offset_delta] = {
          std::string(r.value.value_or("<null>")),
          r.headers.empty() ? "" : std::string(r.headers[0].value.value_or(""))};
    }
    if (batches) (*batches)[header->base_offset] = records->size();
    rest = rest.subspan(size);
  }
  return out;
}

TEST_F(broker_test, local_producer_records_are_durable_fetchable_and_batched_while_the_shard_is_busy) {
  shards_ = 1;  // the records below are handed in by one handler of the only shard: one batch
  restart();
  {
    frame_client setup(port());
    ASSERT_EQ(create_topic(setup, "local", 2).i16("error_code"), 0);
  }
  local_producer producer(*pool_, *broker_);
  deliveries first;
  std::promise<void> handed_in;
  boost::asio::post(pool_->shard(0), [&] {
    for (int i = 0; i < 100; ++i) {
      producer.produce("local", "value-" + std::to_string(i), {{"event_id", "id-" + std::to_string(i)}},
                       first.expect());
    }
    handed_in.set_value();
  });
  handed_in.get_future().wait();
  auto got = first.wait();
  ASSERT_EQ(got.size(), 100u);
  for (const auto& d : got) {
    EXPECT_EQ(d.error, error_code::none);
    EXPECT_EQ(d.partition, got[0].partition);  // one batch, one partition
  }
  // The next records, handed in from a thread of their own, go to the other partition first.
  deliveries second;
  for (int i = 100; i < 110; ++i) {
    producer.produce("local", "value-" + std::to_string(i), {{"event_id", "id-" + std::to_string(i)}}, second.expect());
  }
  auto more = second.wait();
  ASSERT_EQ(more.size(), 10u);
  std::map<std::int32_t, std::vector<std::int64_t>> offsets;
  for (const auto& d : got) offsets[d.partition].push_back(d.offset);
  for (const auto& d : more) {
    EXPECT_EQ(d.error, error_code::none);
    offsets[d.partition].push_back(d.offset);
  }
  EXPECT_EQ(offsets.size(), 2u);

  restart();  // acknowledged means synced: everything is there after a restart
  frame_client client(port());
  std::set<std::string> values;
  std::map<std::int64_t, std::size_t> first_partition_batches;
  for (const auto& [partition, list] : offsets) {
    std::map<std::int64_t, std::size_t> batches;
    message data = fetch(client, "local", partition, 0);
    ASSERT_TRUE(data.batches("records").data.has_value());
    const auto records = records_of(*data.batches("records").data, &batches);
    if (partition == got[0].partition) first_partition_batches = batches;
    EXPECT_EQ(records.size(), list.size());
    for (const auto offset : list) {
      ASSERT_TRUE(records.contains(offset)) << partition << "/" << offset;
      const auto& [value, event_id] = records.at(offset);
      EXPECT_EQ(event_id, "id-" + value.substr(std::string("value-").size()));
      EXPECT_TRUE(values.insert(value).second) << value << " twice";
    }
  }
  EXPECT_EQ(values.size(), 110u);
  // The 100 records handed in by the busy shard: one batch, the partition's first. (The 10 from
  // another thread may take several flushes, and some may land after it.)
  ASSERT_FALSE(first_partition_batches.empty());
  EXPECT_EQ(first_partition_batches.begin()->second, 100u);
}

// local_producer::batch_bytes_max bounds a batch: records handed in together beyond it wait for
// the next batch (a lone record larger than the bound still goes, alone).
TEST_F(broker_test, local_producer_batches_stay_within_batch_bytes_max) {
  shards_ = 1;
  restart();
  {
    frame_client setup(port());
    ASSERT_EQ(create_topic(setup, "big", 1).i16("error_code"), 0);
  }
  local_producer producer(*pool_, *broker_);
  deliveries all;
  const std::size_t value_bytes = local_producer::batch_bytes_max / 2 - 1024;
  std::promise<void> handed_in;
  boost::asio::post(pool_->shard(0), [&] {
    for (int i = 0; i < 5; ++i) {
      producer.produce("big", std::string(value_bytes, static_cast<char>('a' + i)), {{"event_id", "e"}}, all.expect());
    }
    handed_in.set_value();
  });
  handed_in.get_future().wait();
  const auto got = all.wait();
  ASSERT_EQ(got.size(), 5u);
  for (const auto& d : got) EXPECT_EQ(d.error, error_code::none);
  frame_client client(port());
  std::map<std::int64_t, std::size_t> batches;
  std::size_t records = 0;
  for (std::int64_t offset = 0; offset < 5;) {  // a fetch returns at most about 1 MiB
    message data = fetch(client, "big", 0, offset);
    ASSERT_TRUE(data.batches("records").data.has_value());
    const auto some = records_of(*data.batches("records").data, &batches);
    ASSERT_FALSE(some.empty());
    records += some.size();
    offset = some.rbegin()->first + 1;
  }
  EXPECT_EQ(records, 5u);
  // Two records fit under the bound, three do not: batches of 2, 2 and 1.
  std::vector<std::size_t> sizes;
  for (const auto& [base, count] : batches) sizes.push_back(count);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 1}));
}

// A sync that cannot run (here: the only blocking thread is busy, as behind a disk that stalls)
// answers request_timed_out after the producer's timeout instead of holding the record forever;
// once the sync runs, the record is stored (the answer said "not known", not "not stored").
TEST_F(broker_test, local_producer_answers_request_timed_out_when_the_sync_cannot_run) {
  {
    frame_client setup(port());
    ASSERT_EQ(create_topic(setup, "slow", 1).i16("error_code"), 0);
  }
  std::promise<void> release;
  std::promise<void> busy;
  boost::asio::post(pool_->blocking(), [&, until = release.get_future().share()] {
    busy.set_value();
    until.wait();
  });
  busy.get_future().wait();
  local_producer producer(*pool_, *broker_, std::chrono::milliseconds(200));
  deliveries stalled;
  producer.produce("slow", "late", {{"event_id", "late"}}, stalled.expect());
  auto got = stalled.wait();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, error_code::request_timed_out);
  release.set_value();
  deliveries after;
  producer.produce("slow", "next", {{"event_id", "next"}}, after.expect());
  got = after.wait();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, error_code::none);
  EXPECT_EQ(got[0].offset, 1);  // the timed-out record was stored at 0
  frame_client client(port());
  message data = fetch(client, "slow", 0, 0);
  ASSERT_TRUE(data.batches("records").data.has_value());
  const auto records = records_of(*data.batches("records").data);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.at(0).first, "late");
  EXPECT_EQ(records.at(1).first, "next");
}

TEST_F(broker_test, local_producer_refuses_unknown_topics_and_stops_with_the_broker) {
  local_producer producer(*pool_, *broker_);
  deliveries unknown;
  producer.produce("never-created", "v", {{"h", "x"}}, unknown.expect());
  auto got = unknown.wait();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, error_code::unknown_topic_or_partition);
  {
    frame_client client(port());  // and it was not created
    message response = metadata(client, {"never-created"}, false);
    EXPECT_EQ(response.array("topics").at(0).i16("error_code"), code(error_code::unknown_topic_or_partition));
    ASSERT_EQ(create_topic(client, "known", 1).i16("error_code"), 0);
  }
  producer.close();
  deliveries closed;
  producer.produce("known", "v", {{"h", "x"}}, closed.expect());
  got = closed.wait();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, error_code::broker_not_available);

  local_producer after_stop(*pool_, *broker_);
  broker_->stop();
  deliveries stopped;
  after_stop.produce("known", "v", {{"h", "x"}}, stopped.expect());
  got = stopped.wait();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, error_code::broker_not_available);
}

}  // namespace
}  // namespace substrate::kafka
