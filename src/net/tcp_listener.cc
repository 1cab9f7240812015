#include "net/tcp_listener.h"

#include <algorithm>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/io_pool.h"
#include "net/logger.h"

namespace substrate::net {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::shared_ptr<tcp_listener> tcp_listener::create(io_pool& pool, listener_options options, listener_probes probes,
                                                   serve_function serve) {
  return std::shared_ptr<tcp_listener>(new tcp_listener(pool, std::move(options), probes, std::move(serve)));
}

tcp_listener::tcp_listener(io_pool& pool, listener_options options, listener_probes probes, serve_function serve)
    : options_(std::move(options)), probes_(probes), serve_(std::move(serve)), acceptor_(pool.shard(0)) {
  for (std::size_t i = 0; i < pool.shard_count(); ++i) {
    shards_.push_back(std::make_unique<listener_shard>());
    shards_.back()->context = &pool.shard(i);
    shards_.back()->index = i;
  }
}

tcp_listener::~tcp_listener() = default;

void tcp_listener::start() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.address, ec);
  if (ec) throw std::system_error(ec, "listener " + options_.name + ": invalid address '" + options_.address + "'");
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec) {
    throw std::system_error(
        ec, "listener " + options_.name + " cannot bind " + options_.address + ":" + std::to_string(options_.port));
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
  bound_port_ = acceptor_.local_endpoint().port();
  accepting_ = true;
  accept_loop_done_ = false;
  sweeping_ = true;
  for (auto& shard : shards_) {
    shard->sweeper = std::make_unique<asio::steady_timer>(*shard->context);
    ++sweepers_running_;
    asio::co_spawn(*shard->context, sweep(*shard), asio::detached);
  }
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [self = shared_from_this()](std::exception_ptr error) {
    if (!error) return;
    self->accept_loop_done_ = true;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      http_log.error("accept loop of listener {} failed: {}", self->options_.name, e.what());
    }
  });
  http_log.info("listener {} serving on {}://{}:{}", options_.name, options_.scheme, options_.address, bound_port_);
}

asio::awaitable<void> tcp_listener::refuse(tcp::socket socket) {
  probes_.connections_rejected.increment();
  boost::system::error_code ec;
  if (!options_.refusal.empty()) {
    co_await asio::async_write(socket, asio::buffer(options_.refusal), asio::redirect_error(asio::use_awaitable, ec));
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

asio::awaitable<void> tcp_listener::accept_loop() {
  auto self = shared_from_this();
  std::size_t next_shard = 0;
  while (accepting_) {
    auto& shard = *shards_[next_shard];
    next_shard = (next_shard + 1) % shards_.size();
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(shard.context->get_executor(), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!accepting_ || ec == asio::error::operation_aborted) break;
      // Out of file descriptors or a transient network error: say so, pause, keep serving.
      http_log.warn("accept failed on listener {}: {}; retrying", options_.name, ec.message());
      asio::steady_timer pause(acceptor_.get_executor(), 50ms);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (open_count_.load() >= options_.connections_max) {
      asio::co_spawn(shard.context->get_executor(), refuse(std::move(socket)), asio::detached);
      continue;
    }
    open_count_.fetch_add(1);
    probes_.connections_open.increment();
    asio::co_spawn(
        shard.context->get_executor(), run_connection(std::move(socket), shard), [self](std::exception_ptr error) {
          // run_connection() catches everything itself; anything here is a bug.
          if (error) {
            try {
              std::rethrow_exception(error);
            } catch (const std::exception& e) {
              http_log.error("connection coroutine failed on listener {}: {}", self->options_.name, e.what());
            }
          }
          self->probes_.connections_open.decrement();
          self->open_count_.fetch_sub(1);
        });
  }
  accept_loop_done_ = true;
}

asio::awaitable<void> tcp_listener::run_connection(tcp::socket socket, listener_shard& shard) {
  auto self = shared_from_this();
  connection conn;
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string remote_address = ec ? std::string("unknown") : remote.address().to_string();
  socket.set_option(tcp::no_delay(true), ec);
  conn.socket = &socket;
  shard.connections.insert(&conn);
  try {
    co_await serve_(socket, remote_address, conn, shard);
  } catch (const std::exception& e) {
    http_log.error("connection on listener {} failed: {}; closing it", options_.name, e.what());
  }
  shard.connections.erase(&conn);
  // After an upgrade the socket was moved out; closing the moved-from one is harmless.
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

asio::awaitable<void> tcp_listener::sweep(listener_shard& shard) {
  auto self = shared_from_this();
  // A few ticks per shortest timeout: a deadline is honoured within a quarter of its length.
  const auto tick = std::chrono::milliseconds(std::clamp<std::int64_t>(
      std::min({options_.idle_timeout_ms, options_.read_timeout_ms, options_.write_timeout_ms}) / 4, 5, 1000));
  boost::system::error_code ec;
  while (sweeping_) {
    shard.sweeper->expires_after(tick);
    co_await shard.sweeper->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!sweeping_) break;
    const auto now = deadline_clock_now();
    for (auto* conn : shard.connections) {
      if (conn->deadline_armed && now >= conn->deadline) {
        conn->deadline_armed = false;
        conn->timed_out = true;
        conn->socket->cancel(ec);
      }
    }
  }
  // stop() waits for this, so that no sweeper frame (and its timer) outlives the listener.
  --sweepers_running_;
}

void tcp_listener::post_to_shards(const std::function<void(listener_shard&)>& action) {
  for (auto& shard : shards_) {
    asio::post(*shard->context, [state = shard.get(), action] { action(*state); });
  }
}

void tcp_listener::wait_until(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline) {
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(2ms);
}

void tcp_listener::stop() {
  if (!accepting_.exchange(false)) return;
  auto self = shared_from_this();
  // 1. Stop accepting, on the acceptor's shard, which owns it.
  asio::post(acceptor_.get_executor(), [self] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
  // 2. Drain: idle connections close now, busy ones after their current exchange, upgraded
  //    ones (websockets) are asked to close politely.
  post_to_shards([](listener_shard& shard) {
    shard.draining = true;
    for (auto* conn : shard.connections) {
      boost::system::error_code ec;
      if (conn->state == connection::phase::idle && conn->socket) conn->socket->close(ec);
      if (conn->state == connection::phase::upgraded && conn->drain_upgraded) conn->drain_upgraded();
    }
  });
  // 3. Wait for in-flight work up to the grace period; then close whatever is left.
  const auto grace_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.shutdown_grace_ms);
  wait_until([this] { return open_count_.load() == 0; }, grace_end);
  if (open_count_.load() > 0) {
    http_log.warn("listener {}: {} connections still busy after the grace period; closing them", options_.name,
                  open_count_.load());
    post_to_shards([](listener_shard& shard) {
      for (auto* conn : shard.connections) {
        boost::system::error_code ec;
        if (conn->socket) conn->socket->close(ec);
      }
    });
    wait_until([this] { return open_count_.load() == 0; }, std::chrono::steady_clock::now() + 2s);
  }
  wait_until([this] { return accept_loop_done_.load(); }, std::chrono::steady_clock::now() + 2s);
  // 4. Stop the sweepers and wait for them, so none outlives the listener or the io_pool.
  sweeping_ = false;
  post_to_shards([](listener_shard& shard) { shard.sweeper->cancel(); });
  wait_until([this] { return sweepers_running_.load() == 0; }, std::chrono::steady_clock::now() + 2s);
  http_log.info("listener {} stopped", options_.name);
}

}  // namespace substrate::net
