#include <future>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_fixture.h"

namespace substrate::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class http_server_test : public server_fixture {
protected:
  void SetUp() override { start_server(small_limits()); }
};

std::string get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n";
}

std::string error_code_of(const raw_response& r) {
  return nlohmann::json::parse(r.body).at("error");
}

TEST_F(http_server_test, keep_alive_serves_several_requests_on_one_connection) {
  raw_client client(port_);
  for (int i = 0; i < 3; ++i) {
    client.send(get("/hello"));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello");
  }
}

TEST_F(http_server_test, pipelined_requests_are_answered_in_order) {
  raw_client client(port_);
  client.send(get("/items/1") + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" +
              get("/items/2?q=x%20y"));
  EXPECT_EQ(client.read_response()->body, "1|-");
  EXPECT_EQ(client.read_response()->body, "abc");
  EXPECT_EQ(client.read_response()->body, "2|x y");
}

TEST_F(http_server_test, unknown_route_is_404_and_wrong_method_405_with_allow) {
  auto missing = request(port_, get("/nope"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_code_of(*missing), "not_found");
  auto wrong = request(port_, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->headers["allow"], "GET");
}

// A route's observer hears each answer of its route (status, seconds), and only those.
class observed_route_test : public server_fixture {
protected:
  void SetUp() override { start_server(small_limits()); }
  void add_extra_routes(net::router& routes) override {
    routes.add(
        "GET", "/observed/{status}",
        [](net::http_request& r) -> boost::asio::awaitable<net::http_response> {
          co_return net::http_response::text(std::stoi(r.param("status")), "observed");
        },
        [this](int status, double seconds) {
          std::lock_guard lock(mutex_);
          seen_.emplace_back(status, seconds);
        });
  }
  std::vector<std::pair<int, double>> wait_for_observations(std::size_t count) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (seen_.size() >= count) return seen_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::mutex mutex_;
  std::vector<std::pair<int, double>> seen_;
};

TEST_F(observed_route_test, the_observer_hears_its_routes_answers_only) {
  EXPECT_EQ(request(port_, get("/observed/202"))->status, 202);
  EXPECT_EQ(request(port_, get("/hello"))->status, 200);
  EXPECT_EQ(request(port_, "DELETE /observed/1 HTTP/1.1\r\nHost: t\r\n\r\n")->status, 405);
  EXPECT_EQ(request(port_, get("/observed/404"))->status, 404);
  const auto seen = wait_for_observations(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 202);
  EXPECT_EQ(seen[1].first, 404);
  for (const auto& [status, seconds] : seen) {
    EXPECT_GE(seconds, 0.0);
    EXPECT_LT(seconds, 60.0);
  }
  std::this_thread::sleep_for(50ms);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(seen_.size(), 2u) << "the 405 and the other route's request are not this route's";
}

TEST_F(http_server_test, oversized_body_is_413_and_the_connection_closes) {
  raw_client client(port_);
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(error_code_of(*r), "body_too_large");
  EXPECT_TRUE(client.closed_by_peer());
}

// A client that sends its whole (too large) body before it reads gets the 413, not a reset:
// the server keeps reading and discarding after the answer (lingering close). Closing at once
// made the kernel reset the connection over the unread megabytes, and the answer was lost.
TEST_F(http_server_test, a_client_still_sending_a_large_body_reads_the_413) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    raw_client client(port_);
    const std::size_t size = 4 << 20;
    // Sent whole: the server reads (and drops) the rest instead of resetting the connection.
    EXPECT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n" +
                            std::string(size, 'x')))
        << "attempt " << attempt;
    auto r = client.read_response();
    ASSERT_TRUE(r) << "attempt " << attempt << ": no answer (reset?)";
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(error_code_of(*r), "body_too_large");
    EXPECT_TRUE(client.closed_by_peer());
  }
}

// After an error answer the server reads and drops what the client still sends, but not without
// end: at most 8 MiB and 2 s (linger_close), then it closes. A client that never stops sending
// sees its connection closed, by bytes here and by time below.
TEST_F(http_server_test, the_lingering_read_after_an_error_answer_stops_after_8_mib) {
  raw_client client(port_);
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n"));
  const std::string chunk(1 << 20, 'x');
  std::size_t sent = 0;
  constexpr std::size_t bound = 64 << 20;
  // The sends fail once the server has closed (its reset comes back). Loopback's socket buffers
  // hold a few MiB more than the server read, so only the upper bound says something.
  while (sent < bound && client.send(chunk)) sent += chunk.size();
  EXPECT_LT(sent, bound) << "the server was still reading after " << sent << " bytes";
}

TEST_F(http_server_test, the_lingering_read_after_an_error_answer_stops_after_2_s) {
  raw_client client(port_);
  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n" + std::string(4096, 'x')));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // A byte every 100 ms keeps the lingering read busy, far below its byte cap. (The server shut
  // its sending side when it answered, so an end of stream says nothing; a failed send does.)
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - start < 20s) {
    std::this_thread::sleep_for(100ms);
    closed = !client.send("x");
  }
  EXPECT_TRUE(closed) << "the server still read after 20 s of trickling";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s) << "closed before the lingering read had its time";
}

TEST_F(http_server_test, oversized_chunked_body_is_413) {
  raw_client client(port_);
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  client.send(chunked);
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(http_server_test, oversized_headers_are_431) {
  auto r = request(port_, get("/hello", "X-Big: " + std::string(4096, 'h') + "\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(error_code_of(*r), "headers_too_large");
}

TEST_F(http_server_test, malformed_requests_are_400_with_a_json_body) {
  for (const std::string bad :
       {"GARBAGE\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n", "GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto r = request(port_, bad);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(error_code_of(*r), "bad_request") << bad;
  }
  EXPECT_EQ(request(port_, get("/hello"))->status, 200);
}

TEST_F(http_server_test, bad_percent_encoding_in_a_path_parameter_is_400) {
  auto r = request(port_, get("/items/%zz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(http_server_test, slow_request_gets_408_after_the_read_timeout) {
  raw_client client(port_);
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  auto r = client.read_response(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(client.closed_by_peer());
}

TEST_F(http_server_test, trickled_headers_get_408_after_the_read_timeout) {
  // Slowloris: a byte at a time, never finishing the headers within the read timeout.
  raw_client client(port_);
  const std::string head = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  for (const char c : head) {
    client.send(std::string(1, c));
    std::this_thread::sleep_for(20ms);  // about 1.4 s in all, well past the 300 ms read timeout
  }
  auto r = client.read_response(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
}

TEST_F(http_server_test, idle_connection_is_closed_silently) {
  raw_client client(port_);
  EXPECT_TRUE(client.closed_by_peer(3s));
}

TEST_F(http_server_test, abrupt_disconnects_do_not_disturb_the_server) {
  for (int i = 0; i < 20; ++i) {
    raw_client client(port_);
    client.send(i % 2 ? "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nab" : "GET /hel");
    client.close_abruptly();
  }
  {
    raw_client client(port_);
    client.send(get("/slow"));
    client.close_abruptly();  // while the handler is still running
  }
  auto r = request(port_, get("/hello"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(http_server_test, handler_exception_is_500_and_serving_continues) {
  auto r = request(port_, get("/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(error_code_of(*r), "internal_error");
  EXPECT_EQ(request(port_, get("/hello"))->status, 200);
}

TEST_F(http_server_test, expect_continue_is_honoured) {
  raw_client client(port_);
  client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  client.send("data");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "data");
}

TEST_F(http_server_test, head_returns_headers_only) {
  raw_client client(port_);
  client.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  // The response carries Content-Length: 5 but no body, so read just the head.
  client.send(get("/hello"));
  auto head = client.read_response();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  // With no body sent, the 5 bytes read as "body" are the start of the next response.
  EXPECT_EQ(head->body, "HTTP/");
}

TEST_F(http_server_test, cors_preflight_and_simple_requests) {
  auto preflight =
      request(port_,
              "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nOrigin: http://app.test\r\n"
              "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, apikey\r\n\r\n");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->headers["access-control-allow-origin"], "http://app.test");
  EXPECT_EQ(preflight->headers["access-control-allow-headers"], "authorization, apikey");
  EXPECT_THAT(preflight->headers["access-control-allow-methods"], HasSubstr("POST"));

  auto denied = request(port_,
                        "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nOrigin: http://evil.test\r\n"
                        "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);

  auto simple = request(port_, get("/hello", "Origin: http://app.test\r\n"));
  EXPECT_EQ(simple->headers["access-control-allow-origin"], "http://app.test");
  auto foreign = request(port_, get("/hello", "Origin: http://evil.test\r\n"));
  EXPECT_FALSE(foreign->headers.contains("access-control-allow-origin"));
}

TEST_F(http_server_test, health_ready_and_metrics_routes) {
  auto health = request(port_, get("/healthz"));
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  EXPECT_EQ(request(port_, get("/readyz"))->status, 200);
  dependency_up_ = false;
  auto not_ready = request(port_, get("/readyz"));
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(nlohmann::json::parse(not_ready->body)["failing"]["dependency"], "dependency is down");
  dependency_up_ = true;
  auto metrics = request(port_, get("/metrics"));
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->headers["content-type"], HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics->body, HasSubstr("http_requests_total{listener=\"test\",method=\"GET\",code=\"503\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("http_request_duration_seconds_bucket{listener=\"test\",le=\"+Inf\"}"));
}

class slow_reader_test : public server_fixture {
protected:
  void SetUp() override {
    auto limits = small_limits();
    limits.write_timeout_ms = 300;
    start_server(limits);
  }
};

TEST_F(slow_reader_test, a_client_that_stops_reading_is_disconnected_after_the_write_timeout) {
  raw_client client(port_);
  client.send(get("/big"));
  // Building 64 MiB can take a while under a sanitizer: wait until the response has started,
  // then read nothing for well over the write timeout while the server's write stalls.
  ASSERT_TRUE(client.wait_readable(30s));
  std::this_thread::sleep_for(1500ms);
  std::size_t received = 0;
  EXPECT_TRUE(client.drain_until_closed(received, 10s)) << "the server kept the stalled connection open";
  EXPECT_LT(received, big_body_bytes) << "the whole response fitted into socket buffers; the test proves nothing";
  EXPECT_EQ(request(port_, get("/hello"))->status, 200);
}

class connection_limit_test : public server_fixture {
protected:
  void SetUp() override {
    auto limits = small_limits();
    limits.connections_max = 2;
    limits.idle_timeout_ms = 5000;
    start_server(limits);
  }
};

TEST_F(connection_limit_test, connections_over_the_limit_get_503) {
  raw_client first(port_);
  raw_client second(port_);
  first.send(get("/hello"));
  second.send(get("/hello"));
  ASSERT_TRUE(first.read_response());
  ASSERT_TRUE(second.read_response());
  raw_client third(port_);
  auto r = third.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->headers["retry-after"], "1");
}

TEST_F(http_server_test, stop_finishes_in_flight_requests_and_refuses_new_ones) {
  raw_client busy(port_);
  busy.send(get("/slow"));
  raw_client idle(port_);
  idle.send(get("/hello"));
  ASSERT_TRUE(idle.read_response());
  for (int i = 0; i < 500 && slow_started_ == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(slow_started_, 1) << "/slow never reached its handler";
  auto stopping = std::async(std::launch::async, [this] { server_->stop(); });
  auto r = busy.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finally");
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(idle.closed_by_peer());
  stopping.get();
  EXPECT_THROW(raw_client late(port_), std::runtime_error);
}

}  // namespace
}  // namespace substrate::testing

namespace substrate::testing {
namespace {

// A router guard (the Supabase listener's API-key check) runs before every matched route and
// can refuse it; unmatched paths still get 404.
class guarded_server_test : public server_fixture {
protected:
  void SetUp() override { start_server(small_limits()); }
  void add_extra_routes(net::router& routes) override {
    routes.set_guard([](const net::http_request& r) -> std::optional<net::http_response> {
      if (r.header("apikey") == std::optional<std::string_view>("good")) return std::nullopt;
      return net::http_response::json(401, R"({"message":"No API key found in request"})");
    });
  }
};

TEST_F(guarded_server_test, the_guard_refuses_or_lets_through_before_the_handler) {
  auto refused = request(port_, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_THAT(refused->body, ::testing::HasSubstr("No API key"));
  auto allowed = request(port_, "POST /echo HTTP/1.1\r\nHost: t\r\napikey: good\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->body, "abc");
  auto missing = request(port_, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace substrate::testing
