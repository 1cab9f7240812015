// WebSocket upgrade through the real server, driven by Beast's client.
#include <future>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace substrate::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

class echo_handler : public net::websocket_handler {
public:
  explicit echo_handler(std::atomic<int>& closed) : closed_(closed) {}
  void on_open(std::shared_ptr<net::websocket_peer> peer) override {
    peer_ = std::move(peer);
    peer_->send_text("welcome");
  }
  void on_text(std::string_view message) override {
    if (message == "bye") {
      peer_->close(4000, "asked to leave");
      return;
    }
    peer_->send_text("echo:" + std::string(message));
  }
  // Binary frames are accepted when they start with 'B' (else refused: the connection closes).
  bool on_binary(std::string_view message) override {
    if (!message.starts_with('B')) return false;
    peer_->send_text("binary:" + std::string(message));
    return true;
  }
  void on_close() override {
    peer_.reset();
    ++closed_;
  }

private:
  std::shared_ptr<net::websocket_peer> peer_;
  std::atomic<int>& closed_;
};

class websocket_test : public server_fixture {
protected:
  void SetUp() override { start_server(small_limits()); }
  void add_extra_routes(net::router& routes) override {
    routes.add_websocket("/ws", [this](const net::http_request& request) -> net::websocket_accept {
      if (request.query_param("token") != "good") return net::http_response::error(401, "unauthorized", "bad token");
      return std::make_unique<echo_handler>(closed_);
    });
  }

  websocket::stream<asio::ip::tcp::socket> connect(const std::string& target) {
    websocket::stream<asio::ip::tcp::socket> ws(client_context_);
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_});
    ws.handshake("127.0.0.1", target);
    return ws;
  }

  std::string read_text(websocket::stream<asio::ip::tcp::socket>& ws) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }

  asio::io_context client_context_;
  std::atomic<int> closed_{0};
};

TEST_F(websocket_test, upgrade_then_text_frames_both_ways) {
  auto ws = connect("/ws?token=good");
  EXPECT_EQ(read_text(ws), "welcome");
  ws.write(asio::buffer(std::string("one")));
  ws.write(asio::buffer(std::string("two")));
  EXPECT_EQ(read_text(ws), "echo:one");
  EXPECT_EQ(read_text(ws), "echo:two");
  ws.close(websocket::close_code::normal);
}

TEST_F(websocket_test, binary_frames_reach_the_handler_or_close_the_connection) {
  auto ws = connect("/ws?token=good");
  EXPECT_EQ(read_text(ws), "welcome");
  ws.binary(true);
  ws.write(asio::buffer(std::string("Bytes")));
  EXPECT_EQ(read_text(ws), "binary:Bytes");
  ws.write(asio::buffer(std::string("refused")));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, websocket::close_code::bad_payload);
}

TEST_F(websocket_test, refused_upgrade_gets_the_factorys_status) {
  websocket::stream<asio::ip::tcp::socket> ws(client_context_);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_});
  websocket::response_type response;
  beast::error_code ec;
  ws.handshake(response, "127.0.0.1", "/ws?token=bad", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);
  EXPECT_EQ(response.result_int(), 401u);
}

TEST_F(websocket_test, plain_get_on_a_websocket_route_is_426) {
  auto r = request(port_, "GET /ws HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 426);
}

TEST_F(websocket_test, handler_can_close_with_a_code) {
  auto ws = connect("/ws?token=good");
  EXPECT_EQ(read_text(ws), "welcome");
  ws.write(asio::buffer(std::string("bye")));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, 4000);
}

TEST_F(websocket_test, server_stop_sends_going_away_and_calls_on_close) {
  auto ws = connect("/ws?token=good");
  EXPECT_EQ(read_text(ws), "welcome");
  auto stopping = std::async(std::launch::async, [this] { server_->stop(); });
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, websocket::close_code::going_away);
  stopping.get();
  EXPECT_EQ(closed_.load(), 1);
}

}  // namespace
}  // namespace substrate::testing
