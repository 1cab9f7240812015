// SASL on the Kafka listener (spec 5.6) over real sockets, with our codec as the client: the
// gate before authentication, SaslHandshake v0/v1 and SaslAuthenticate v0-2 with PLAIN, the
// raw-token framing after a v0 handshake, and the error codes 33, 34 and 58. kcat drives the
// same paths with SCRAM in tests/contract/kafka_security.test.mjs.
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

#include "frame_client.h"
#include "kafka/protocol/error_codes.h"
#include "kafka/security/user_store.h"
#include "kafka/server/kafka_server.h"
#include "net/io_pool.h"

namespace substrate::kafka {
namespace {

using testing::frame_client;
using namespace std::string_literals;

class principal_recorder : public request_handler {
public:
  boost::asio::awaitable<result<std::optional<message>>> handle(const request_header& header, message&,
                                                                connection_context& context) override {
    {
      std::lock_guard lock(mutex);
      principals.push_back(context.principal.value_or("-"));
    }
    co_return std::optional<message>(make_message(header.key, message_kind::response));
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex);
    return principals;
  }
  std::mutex mutex;
  std::vector<std::string> principals;
};

class kafka_server_sasl_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("substrate-sasl-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    const auto users_file = dir_ / "users.json";
    ASSERT_TRUE(security::add_user(users_file, "alice", "alice-pw"));
    pool_ = std::make_unique<net::io_pool>(2, 1);
    metrics_ = std::make_unique<kafka_metrics>(registry_);
    kafka_server_options options;
    options.port = 0;
    options.sasl.enabled = true;
    options.sasl.users = std::make_shared<security::user_store>(users_file);
    ASSERT_TRUE(options.sasl.users->load());
    server_ = std::make_unique<kafka_server>(*pool_, options, handler_, *metrics_);
    pool_->start();
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    pool_->stop();
    std::filesystem::remove_all(dir_);
  }

  static message handshake(std::string mechanism) {
    message m = make_message(api_key::sasl_handshake, message_kind::request);
    m.str("mechanism") = std::move(mechanism);
    return m;
  }
  static message authenticate(const std::string& token) {
    message m = make_message(api_key::sasl_authenticate, message_kind::request);
    m.blob("auth_bytes") = bytes(token.begin(), token.end());
    return m;
  }
  static message metadata() {
    message m = make_message(api_key::metadata, message_kind::request);
    m.set_null("topics", true);
    return m;
  }

  std::filesystem::path dir_;
  core::metrics_registry registry_;
  std::unique_ptr<kafka_metrics> metrics_;
  principal_recorder handler_;
  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<kafka_server> server_;
};

TEST_F(kafka_server_sasl_test, requests_before_authentication_close_the_connection) {
  frame_client client(server_->port());
  client.call(api_key::api_versions, 2, make_message(api_key::api_versions, message_kind::request));
  client.send_request(api_key::metadata, 4, metadata());
  EXPECT_TRUE(client.closed_by_peer());
  EXPECT_TRUE(handler_.seen().empty());
}

TEST_F(kafka_server_sasl_test, plain_over_handshake_v1_and_authenticate_v0_to_v2) {
  for (const std::int16_t version : {0, 1, 2}) {
    frame_client client(server_->port());
    const auto hs = client.call(api_key::sasl_handshake, 1, handshake("PLAIN"));
    EXPECT_EQ(hs.i16("error_code"), 0);
    ASSERT_EQ(hs.values("mechanisms").size(), 2u);
    const auto auth = client.call(api_key::sasl_authenticate, version, authenticate("\0alice\0alice-pw"s));
    EXPECT_EQ(auth.i16("error_code"), 0) << auth.nullable_str("error_message").value_or("");
    if (version >= 1) {
      EXPECT_EQ(auth.i64("session_lifetime_ms"), 0);
    }
    client.call(api_key::metadata, 4, metadata());
    // A second handshake on an authenticated connection is illegal, then the connection ends.
    EXPECT_EQ(client.call(api_key::sasl_handshake, 1, handshake("PLAIN")).i16("error_code"),
              static_cast<std::int16_t>(error_code::illegal_sasl_state));
    EXPECT_TRUE(client.closed_by_peer());
  }
  EXPECT_EQ(handler_.seen(), (std::vector<std::string>{"User:alice", "User:alice", "User:alice"}));
}

TEST_F(kafka_server_sasl_test, failures_answer_then_close) {
  {
    frame_client client(server_->port());
    const auto hs = client.call(api_key::sasl_handshake, 1, handshake("GSSAPI"));
    EXPECT_EQ(hs.i16("error_code"), static_cast<std::int16_t>(error_code::unsupported_sasl_mechanism));
    EXPECT_EQ(hs.values("mechanisms").size(), 2u);
    EXPECT_TRUE(client.closed_by_peer());
  }
  {
    frame_client client(server_->port());
    client.call(api_key::sasl_handshake, 1, handshake("PLAIN"));
    const auto auth = client.call(api_key::sasl_authenticate, 1, authenticate("\0alice\0wrong"s));
    EXPECT_EQ(auth.i16("error_code"), static_cast<std::int16_t>(error_code::sasl_authentication_failed));
    EXPECT_TRUE(auth.nullable_str("error_message").has_value());
    EXPECT_TRUE(client.closed_by_peer());
  }
  {
    frame_client client(server_->port());
    const auto auth = client.call(api_key::sasl_authenticate, 0, authenticate("\0alice\0alice-pw"s));
    EXPECT_EQ(auth.i16("error_code"), static_cast<std::int16_t>(error_code::illegal_sasl_state));
    EXPECT_TRUE(client.closed_by_peer());
  }
  EXPECT_TRUE(handler_.seen().empty());
}

TEST_F(kafka_server_sasl_test, raw_tokens_after_a_v0_handshake) {
  frame_client client(server_->port());
  EXPECT_EQ(client.call(api_key::sasl_handshake, 0, handshake("PLAIN")).i16("error_code"), 0);
  const std::string token = "\0alice\0alice-pw"s;
  bytes frame = {0, 0, 0, static_cast<std::uint8_t>(token.size())};
  frame.insert(frame.end(), token.begin(), token.end());
  client.send(frame);
  const auto reply = client.read_frame();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->empty()) << "PLAIN's server response is empty";
  client.call(api_key::metadata, 4, metadata());
  EXPECT_EQ(handler_.seen(), std::vector<std::string>{"User:alice"});

  frame_client bad(server_->port());
  bad.call(api_key::sasl_handshake, 0, handshake("PLAIN"));
  const std::string wrong = "\0alice\0nope"s;
  bytes wrong_frame = {0, 0, 0, static_cast<std::uint8_t>(wrong.size())};
  wrong_frame.insert(wrong_frame.end(), wrong.begin(), wrong.end());
  bad.send(wrong_frame);
  EXPECT_TRUE(bad.closed_by_peer());
}

}  // namespace
}  // namespace substrate::kafka
