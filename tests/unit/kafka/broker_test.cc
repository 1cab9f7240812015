// The broker behind a real kafka_server on port 0, with a temporary data dir, driven through our
// codec over a socket: what a client sees, including across restarts.
#include "kafka/broker/broker.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "frame_client.h"
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
    start();
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    registry_ = std::make_unique<core::metrics_registry>();
    pool_ = std::make_unique<net::io_pool>(2, 1);
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

TEST_F(broker_test, list_offsets_by_time_earliest_and_latest) {
  frame_client client(port());
  produce(client, "t", 0, make_batch(2, 1000));
  produce(client, "t", 0, make_batch(3, 2000));
  EXPECT_EQ(list_offset(client, "t", 0, -2).i64("offset"), 0);
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("offset"), 5);
  EXPECT_EQ(list_offset(client, "t", 0, -1).i64("timestamp"), -1);
  EXPECT_EQ(list_offset(client, "t", 0, 1500).i64("offset"), 2);
  EXPECT_EQ(list_offset(client, "t", 0, 0).i64("offset"), 0);
  EXPECT_EQ(list_offset(client, "t", 0, 9000).i64("offset"), -1);
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

TEST_F(broker_test, group_apis_answer_coordinator_not_available_for_now) {
  frame_client client(port());
  message request = make_message(api_key::find_coordinator, message_kind::request);
  request.str("key") = "g";
  EXPECT_EQ(client.call(api_key::find_coordinator, 2, request).i16("error_code"),
            code(error_code::coordinator_not_available));
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

  connection_context anonymous_connection{"127.0.0.1", std::nullopt, std::nullopt};
  EXPECT_EQ(broker_->authorize_group(anonymous_connection, "g1", acl_operation::read), error_code::none);
  EXPECT_EQ(broker_->authorize_group(anonymous_connection, "g1", acl_operation::describe), error_code::none);
  EXPECT_EQ(broker_->authorize_group(anonymous_connection, "g2", acl_operation::read),
            error_code::group_authorization_failed);
  connection_context alice{"127.0.0.1", std::nullopt, std::string("User:alice")};
  EXPECT_EQ(broker_->authorize_topic(alice, "ok.a", acl_operation::read), error_code::topic_authorization_failed);
}

}  // namespace
}  // namespace substrate::kafka
