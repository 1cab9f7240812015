#pragma once
// The process's threads: `shards` io_contexts, each run by exactly one thread (thread-per-core;
// a connection stays on the shard that accepted it), and a bounded pool for blocking work
// (synchronous libpq, fsync, password hashing) that must never run on a shard.
//
// Ownership: one io_pool per process, created by main before any listener and stopped after
// every listener has stopped. start() launches the threads; stop() stops the contexts and joins.

#include <cstddef>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace substrate::net {

class io_pool {
public:
  io_pool(std::size_t shards, std::size_t blocking_threads);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  void start();
  void stop();

  [[nodiscard]] std::size_t shard_count() const { return contexts_.size(); }
  [[nodiscard]] boost::asio::io_context& shard(std::size_t index) { return *contexts_[index]; }
  [[nodiscard]] boost::asio::thread_pool& blocking() { return blocking_; }

private:
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<work_guard> guards_;
  std::vector<std::thread> threads_;
  boost::asio::thread_pool blocking_;
  bool stopped_ = false;
};

// Runs `work` on the blocking pool and resumes the awaiting coroutine on its own executor with
// the result. Exceptions thrown by `work` propagate to the awaiter.
//
// g++ 12 destroys the captures of a lambda twice when the lambda is a temporary created inside a
// co_await expression and passed on by value, so callers name `work` and move it in:
//   auto work = [name] { return remove(name); };
//   auto done = co_await run_blocking(pool.blocking(), std::move(work));
template <class Work>
boost::asio::awaitable<std::invoke_result_t<Work>> run_blocking(boost::asio::thread_pool& pool, Work work);

namespace detail {
// A coroutine function rather than a capturing coroutine lambda, for the same g++ 12 bug: the
// lambda's captures (`work`) were destroyed twice.
template <class Work>
boost::asio::awaitable<std::invoke_result_t<Work>> invoke_work(Work work) {
  co_return work();
}
}  // namespace detail

template <class Work>
boost::asio::awaitable<std::invoke_result_t<Work>> run_blocking(boost::asio::thread_pool& pool, Work work) {
  auto task = detail::invoke_work(std::move(work));
  co_return co_await boost::asio::co_spawn(pool.get_executor(), std::move(task), boost::asio::use_awaitable);
}

}  // namespace substrate::net
