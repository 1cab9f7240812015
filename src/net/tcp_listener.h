#pragma once
// The connection machinery shared by every TCP protocol server of the process (HTTP now, the
// Kafka protocol next): accept, spread connections over the shards, enforce per-phase
// deadlines, cap the number of connections, and stop gracefully.
//
// Threading: the acceptor lives on shard 0 and hands each connection round-robin to a shard of
// the io_pool; the connection never leaves it. The protocol's serve function runs there.
// Lifecycle: create(), start() (binds; throws std::system_error naming the address), stop()
// (stop accepting; close idle connections and drain upgraded ones; wait for busy ones up to
// shutdown_grace_ms; close the rest; wait for the sweepers). Stop before the io_pool.
//
// Timeouts: rather than arming a timer per read and write (heap work on every request), a
// connection records a deadline per phase and one sweeper per shard, ticking a few times per
// timeout, cancels the socket's pending operation once the deadline passes; `timed_out` tells
// the protocol why its read failed. See docs/decisions/0001-platform-skeleton.md.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/coarse_clock.h"
#include "core/metrics.h"

namespace substrate::net {

class io_pool;

// The clock of connection deadlines: the coarse steady clock (core/coarse_clock.h). A request
// passes through connection::enter() three or four times, and the sweeper honours a deadline only
// to a quarter of its length (at least 5 ms) anyway.
inline std::chrono::steady_clock::time_point deadline_clock_now() {
  return core::coarse_steady_now();
}

// One connection's bookkeeping, owned by the listener's per-connection coroutine and
// registered with its shard while alive. Touched only on that shard.
struct connection {
  enum class phase { idle, reading, handling, writing, upgraded };
  phase state = phase::idle;
  boost::asio::ip::tcp::socket* socket = nullptr;  // where the socket lives now
  std::function<void()> drain_upgraded;            // how to close an upgraded connection politely
  std::chrono::steady_clock::time_point deadline{};
  bool deadline_armed = false;
  bool timed_out = false;

  void enter(phase next, std::int64_t timeout_ms) {
    state = next;
    deadline = deadline_clock_now() + std::chrono::milliseconds(timeout_ms);
    deadline_armed = true;
    timed_out = false;
  }
  void enter_untimed(phase next) {
    state = next;
    deadline_armed = false;
  }
};

// State owned by one shard; touched only by that shard's thread.
struct listener_shard {
  boost::asio::io_context* context = nullptr;
  std::size_t index = 0;
  std::unordered_set<connection*> connections;
  bool draining = false;
  std::unique_ptr<boost::asio::steady_timer> sweeper;
};

struct listener_options {
  std::string name;    // in logs and metric labels
  std::string scheme;  // for the start-up log line ("http", "kafka")
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t read_timeout_ms = 30'000;
  std::int64_t write_timeout_ms = 30'000;
  std::int64_t connections_max = 10'000;
  std::int64_t shutdown_grace_ms = 10'000;
  // Bytes written to a connection refused because the listener is full (e.g. an HTTP 503);
  // empty: just close it.
  std::string refusal;
};

struct listener_probes {
  core::gauge& connections_open;
  core::counter& connections_rejected;
};

class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
public:
  using tcp = boost::asio::ip::tcp;
  // Serves one connection until it should close. It may move the socket elsewhere (a protocol
  // upgrade) and then points conn.socket there. Exceptions are logged and close the connection.
  using serve_function = std::function<boost::asio::awaitable<void>(tcp::socket& socket, const std::string& remote,
                                                                    connection& conn, listener_shard& shard)>;

  static std::shared_ptr<tcp_listener> create(io_pool& pool, listener_options options, listener_probes probes,
                                              serve_function serve);
  ~tcp_listener();

  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const { return bound_port_; }
  [[nodiscard]] const listener_options& options() const { return options_; }
  [[nodiscard]] std::size_t shard_count() const { return shards_.size(); }

private:
  tcp_listener(io_pool& pool, listener_options options, listener_probes probes, serve_function serve);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> sweep(listener_shard& shard);
  boost::asio::awaitable<void> run_connection(tcp::socket socket, listener_shard& shard);
  boost::asio::awaitable<void> refuse(tcp::socket socket);
  void post_to_shards(const std::function<void(listener_shard&)>& action);
  void wait_until(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline);

  listener_options options_;
  listener_probes probes_;
  serve_function serve_;
  tcp::acceptor acceptor_;
  std::uint16_t bound_port_ = 0;
  std::vector<std::unique_ptr<listener_shard>> shards_;
  std::atomic<std::int64_t> open_count_{0};
  std::atomic<bool> accepting_{false};
  std::atomic<bool> accept_loop_done_{true};
  std::atomic<bool> sweeping_{false};
  std::atomic<int> sweepers_running_{0};
};

}  // namespace substrate::net
