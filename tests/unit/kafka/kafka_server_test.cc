// The Kafka listener over real sockets: framing, ApiVersions, ordering, and protocol
// violations. The request handler here is a test stand-in for the broker (issue 3 builds the
// real one); it answers Metadata with an empty cluster and Produce with no response, as acks=0.
#include "kafka/server/kafka_server.h"

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "frame_client.h"
#include "kafka/protocol/api_versions.h"
#include "kafka/protocol/codec.h"
#include "kafka/protocol/error_codes.h"
#include "net/io_pool.h"
#include "test_bytes.h"

namespace substrate::kafka {
namespace {

class stand_in_broker : public request_handler {
public:
  boost::asio::awaitable<result<std::optional<message>>> handle(const request_header& header, message& request,
                                                                connection_context&) override {
    ++handled;
    if (header.key == api_key::produce && request.i16("acks") == 0) co_return std::optional<message>();
    co_return std::optional<message>(make_message(header.key, message_kind::response));
  }
  std::atomic<int> handled{0};
};

using testing::frame_client;

bytes request_frame(api_key key, std::int16_t version, std::int32_t correlation_id, const message& body) {
  auto frame = encode_request({key, version, correlation_id, std::string("test-client")}, body);
  EXPECT_TRUE(frame) << frame.error().message();
  return *frame;
}

message decode_response(api_key key, std::int16_t version, const bytes& frame_body, std::int32_t correlation_id) {
  auto parsed = parse_response(key, version, frame_body);
  EXPECT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->correlation_id, correlation_id);
  auto body = decode(key, message_kind::response, version, parsed->body);
  EXPECT_TRUE(body) << body.error().message();
  return *body;
}

class kafka_server_test : public ::testing::Test {
protected:
  void SetUp() override {
    pool_ = std::make_unique<net::io_pool>(2, 1);
    metrics_ = std::make_unique<kafka_metrics>(registry_);
    kafka_server_options options;
    options.port = 0;
    options.frame_bytes_max = 4096;
    options.read_timeout_ms = 300;
    server_ = std::make_unique<kafka_server>(*pool_, options, broker_, *metrics_);
    pool_->start();
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    pool_->stop();
  }

  std::uint16_t port() const { return server_->port(); }

  core::metrics_registry registry_;
  std::unique_ptr<kafka_metrics> metrics_;
  stand_in_broker broker_;
  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<kafka_server> server_;
};

TEST_F(kafka_server_test, api_versions_v3_lists_the_advertisement) {
  frame_client client(port());
  message request = make_message(api_key::api_versions, message_kind::request);
  request.str("client_software_name") = "librdkafka";
  request.str("client_software_version") = "2.0.2";
  client.send(request_frame(api_key::api_versions, 3, 1, request));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  message response = decode_response(api_key::api_versions, 3, *frame, 1);
  EXPECT_EQ(response.i16("error_code"), 0);
  const auto& keys = response.array("api_keys");
  ASSERT_EQ(keys.size(), supported_api_versions().size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(keys[i].i16("api_key"), static_cast<std::int16_t>(supported_api_versions()[i].key));
    EXPECT_EQ(keys[i].i16("max_version"), supported_api_versions()[i].max_version);
  }
  EXPECT_EQ(broker_.handled, 0) << "ApiVersions is the listener's own business";
}

TEST_F(kafka_server_test, api_versions_of_an_unknown_version_gets_a_v0_body_with_unsupported_version) {
  frame_client client(port());
  // A v9 request: flexible header (v2); the body is not decoded, so an empty one will do.
  bytes frame = testing::from_hex("00 00 00 0c  00 12  00 09  00 00 00 07  00 00  00  00");
  client.send(frame);
  auto reply = client.read_frame();
  ASSERT_TRUE(reply);
  message response = decode_response(api_key::api_versions, 0, *reply, 7);
  EXPECT_EQ(response.i16("error_code"), static_cast<std::int16_t>(error_code::unsupported_version));
  EXPECT_FALSE(response.array("api_keys").empty());
}

TEST_F(kafka_server_test, pipelined_requests_are_answered_in_order_and_acks_0_gets_no_response) {
  frame_client client(port());
  message metadata = make_message(api_key::metadata, message_kind::request);
  message produce = make_message(api_key::produce, message_kind::request);
  produce.i16("acks") = 0;
  bytes burst;
  for (const auto& part :
       {request_frame(api_key::metadata, 1, 10, metadata), request_frame(api_key::produce, 3, 11, produce),
        request_frame(api_key::metadata, 6, 12, metadata)}) {
    burst.insert(burst.end(), part.begin(), part.end());
  }
  client.send(burst);
  auto first = client.read_frame();
  auto second = client.read_frame();
  ASSERT_TRUE(first && second);
  decode_response(api_key::metadata, 1, *first, 10);
  decode_response(api_key::metadata, 6, *second, 12);  // the acks=0 produce (11) had no response
  EXPECT_EQ(broker_.handled, 3);
}

TEST_F(kafka_server_test, protocol_violations_close_only_that_connection) {
  const std::vector<std::pair<std::string, bytes>> violations = {
      {"unknown api key", testing::from_hex("00 00 00 08  00 63  00 00  00 00 00 01")},
      // Metadata v40: past anything described, so a flexible header (v2) and an empty body.
      {"unsupported version", testing::from_hex("00 00 00 0c  00 03  00 28  00 00 00 01  ff ff  00  00")},
      {"frame over the limit", testing::from_hex("00 00 20 00  00 03 00 01 00 00 00 01")},
      {"negative frame size", testing::from_hex("ff ff ff ff")},
      {"body that does not decode", testing::from_hex("00 00 00 0d  00 03  00 01  00 00 00 01  ff ff  00 00 00")},
  };
  for (const auto& [what, frame] : violations) {
    frame_client client(port());
    client.send(frame);
    EXPECT_TRUE(client.closed_by_peer()) << what;
  }
  EXPECT_EQ(broker_.handled, 0);
  frame_client healthy(port());
  healthy.send(request_frame(api_key::metadata, 1, 5, make_message(api_key::metadata, message_kind::request)));
  ASSERT_TRUE(healthy.read_frame());
  const std::string text = registry_.render();
  EXPECT_NE(text.find("kafka_protocol_errors_total{reason=\"bad_frame\"} 2"), std::string::npos) << text;
}

TEST_F(kafka_server_test, a_frame_that_stops_arriving_is_dropped_after_the_read_timeout) {
  frame_client client(port());
  client.send(testing::from_hex("00 00 00 40  00 03"));  // 64 bytes announced, 2 sent
  EXPECT_TRUE(client.closed_by_peer());
}

// A handler that holds Produce requests until the test opens a gate, releasing the connection's
// ordering first when acks is -1 (as the broker does once its appends are done) and not
// otherwise; it logs the order in which requests start.
class gated_broker : public request_handler {
public:
  boost::asio::awaitable<result<std::optional<message>>> handle(const request_header& header, message& request,
                                                                connection_context& context) override {
    log(fmt::format("start {}", header.correlation_id));
    if (header.key == api_key::produce) {
      if (request.i16("acks") == -1) context.release_ordering();
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
      while (!open) {
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(boost::asio::use_awaitable);
      }
    }
    co_return std::optional<message>(make_message(header.key, message_kind::response));
  }
  void log(std::string line) {
    std::lock_guard lock(mutex);
    started.push_back(std::move(line));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return started;
  }
  std::atomic<bool> open{false};
  std::mutex mutex;
  std::vector<std::string> started;
};

class kafka_server_pipeline_test : public ::testing::Test {
protected:
  void SetUp() override {
    pool_ = std::make_unique<net::io_pool>(1, 1);
    metrics_ = std::make_unique<kafka_metrics>(registry_);
    kafka_server_options options;
    options.port = 0;
    options.in_flight_requests_max = in_flight_max;
    server_ = std::make_unique<kafka_server>(*pool_, options, broker_, *metrics_);
    pool_->start();
    server_->start();
  }
  void TearDown() override {
    broker_.open = true;
    server_->stop();
    pool_->stop();
  }
  bytes burst(std::int16_t acks) {
    message produce = make_message(api_key::produce, message_kind::request);
    produce.i16("acks") = acks;
    message metadata = make_message(api_key::metadata, message_kind::request);
    bytes out = request_frame(api_key::produce, 7, 1, produce);
    const auto second = request_frame(api_key::metadata, 6, 2, metadata);
    out.insert(out.end(), second.begin(), second.end());
    return out;
  }
  bool wait_for_starts(std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (broker_.snapshot().size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return broker_.snapshot().size() >= count;
  }

  static constexpr std::size_t in_flight_max = 3;
  core::metrics_registry registry_;
  std::unique_ptr<kafka_metrics> metrics_;
  gated_broker broker_;
  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<kafka_server> server_;
  std::uint16_t port_of() const { return server_->port(); }
};

TEST_F(kafka_server_pipeline_test, a_released_request_lets_the_next_start_but_responses_stay_in_order) {
  frame_client client(port_of());
  client.send(burst(-1));
  // The Metadata starts while the Produce still waits (it released its ordering)...
  ASSERT_TRUE(wait_for_starts(2));
  EXPECT_EQ(broker_.snapshot(), (std::vector<std::string>{"start 1", "start 2"}));
  broker_.open = true;
  // ...yet the Produce's response goes first.
  auto first = client.read_frame();
  auto second = client.read_frame();
  ASSERT_TRUE(first && second);
  decode_response(api_key::produce, 7, *first, 1);
  decode_response(api_key::metadata, 6, *second, 2);
}

TEST_F(kafka_server_pipeline_test, a_request_that_does_not_release_holds_the_next_one_back) {
  frame_client client(port_of());
  client.send(burst(1));
  ASSERT_TRUE(wait_for_starts(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(broker_.snapshot(), (std::vector<std::string>{"start 1"}));
  broker_.open = true;
  auto first = client.read_frame();
  auto second = client.read_frame();
  ASSERT_TRUE(first && second);
  decode_response(api_key::produce, 7, *first, 1);
  decode_response(api_key::metadata, 6, *second, 2);
  EXPECT_EQ(broker_.snapshot(), (std::vector<std::string>{"start 1", "start 2"}));
}

TEST_F(kafka_server_pipeline_test, reading_pauses_at_the_in_flight_limit) {
  frame_client client(port_of());
  message produce = make_message(api_key::produce, message_kind::request);
  produce.i16("acks") = -1;  // each releases its ordering at once, so only the limit holds them
  bytes frames;
  for (std::int32_t id = 1; id <= 5; ++id) {
    const auto frame = request_frame(api_key::produce, 7, id, produce);
    frames.insert(frames.end(), frame.begin(), frame.end());
  }
  client.send(frames);
  ASSERT_TRUE(wait_for_starts(in_flight_max));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(broker_.snapshot().size(), in_flight_max) << "the fourth waits until a response is written";
  broker_.open = true;
  for (std::int32_t id = 1; id <= 5; ++id) {
    auto response = client.read_frame();
    ASSERT_TRUE(response);
    decode_response(api_key::produce, 7, *response, id);
  }
  EXPECT_EQ(broker_.snapshot().size(), 5u);
}

}  // namespace
}  // namespace substrate::kafka
