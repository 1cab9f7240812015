#include "net/io_pool.h"

#include <pthread.h>

#include <string>

namespace substrate::net {

io_pool::io_pool(std::size_t shards, std::size_t blocking_threads) : blocking_(blocking_threads) {
  if (shards == 0) shards = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < shards; ++i) {
    // concurrency hint 1: each context is driven by exactly one thread, so Asio can skip locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

io_pool::~io_pool() {
  stop();
}

void io_pool::start() {
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      const std::string name = "shard-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      contexts_[i]->run();
    });
  }
}

void io_pool::stop() {
  if (stopped_) return;
  stopped_ = true;
  guards_.clear();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  blocking_.stop();
  blocking_.join();
}

}  // namespace substrate::net
