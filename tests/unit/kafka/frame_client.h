#pragma once
// A blocking client for Kafka frames over loopback, for tests that drive a kafka_server through
// our codec: send a request, read the response frame, decode it.

#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kafka/protocol/codec.h"
#include "kafka/protocol/frame.h"
#include "kafka/protocol/message.h"

namespace substrate::kafka::testing {

class frame_client {
public:
  explicit frame_client(std::uint16_t port, int read_timeout_ms = 10'000) : read_timeout_ms_(read_timeout_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
  }
  ~frame_client() { ::close(fd_); }
  frame_client(const frame_client&) = delete;
  frame_client& operator=(const frame_client&) = delete;

  void send(const bytes& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
  // One response frame body (after the size prefix), or nullopt when the server closed or
  // nothing arrived within the read timeout.
  std::optional<bytes> read_frame() {
    bytes prefix(4);
    if (!read_exactly(prefix)) return std::nullopt;
    const std::uint32_t size = (std::uint32_t{prefix[0]} << 24) | (std::uint32_t{prefix[1]} << 16) |
                               (std::uint32_t{prefix[2]} << 8) | prefix[3];
    bytes body(size);
    if (!read_exactly(body)) return std::nullopt;
    return body;
  }

  // Sends `body` as a request of (key, version) with the next correlation id.
  std::int32_t send_request(api_key key, std::int16_t version, const message& body) {
    const std::int32_t correlation_id = next_correlation_id_++;
    auto frame = encode_request({key, version, correlation_id, std::string("test-client")}, body);
    EXPECT_TRUE(frame) << frame.error().message();
    if (frame) send(*frame);
    return correlation_id;
  }
  // Reads and decodes the response to the request that got `correlation_id`.
  // True when the server closed the connection (or sent nothing) within the read timeout.
  bool closed_by_peer() {
    bytes one(1);
    return !read_exactly(one);
  }

  std::optional<message> read_response(api_key key, std::int16_t version, std::int32_t correlation_id) {
    auto frame = read_frame();
    if (!frame) return std::nullopt;
    auto parsed = parse_response(key, version, *frame);
    EXPECT_TRUE(parsed) << parsed.error().message();
    if (!parsed) return std::nullopt;
    EXPECT_EQ(parsed->correlation_id, correlation_id);
    auto body = decode(key, message_kind::response, version, parsed->body);
    EXPECT_TRUE(body) << body.error().message();
    if (!body) return std::nullopt;
    return std::move(*body);
  }
  // Both, asserting that a response came.
  message call(api_key key, std::int16_t version, const message& body) {
    const auto id = send_request(key, version, body);
    auto response = read_response(key, version, id);
    if (!response) throw std::runtime_error("no response");
    return std::move(*response);
  }

private:
  bool read_exactly(bytes& out) {
    std::size_t got = 0;
    while (got < out.size()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, read_timeout_ms_) <= 0) return false;
      const ssize_t n = ::recv(fd_, out.data() + got, out.size() - got, 0);
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return true;
  }
  int fd_;
  int read_timeout_ms_;
  std::int32_t next_correlation_id_ = 1;
};

}  // namespace substrate::kafka::testing
