// io_pool: shards run posted work; run_blocking runs work off the shards and resumes the caller.
#include "net/io_pool.h"

#include <future>
#include <memory>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

namespace substrate::net {
namespace {

// Regression: run_blocking wrapped `work` in a capturing coroutine lambda, whose captures g++ 12
// destroyed twice: a double free as soon as `work` captured anything owning memory.
TEST(io_pool, run_blocking_keeps_captures_with_destructors_intact) {
  io_pool pool(1, 1);
  pool.start();
  std::promise<std::string> result;
  auto body = [&]() -> boost::asio::awaitable<void> {
    auto owned = std::make_unique<std::string>(200, 'x');
    std::string copy(300, 'y');
    auto work = [owned = std::move(owned), copy]() mutable { return *owned + copy; };
    auto text = co_await run_blocking(pool.blocking(), std::move(work));
    result.set_value(std::move(text));
  };
  boost::asio::co_spawn(pool.shard(0), body(), boost::asio::detached);
  auto text = result.get_future().get();
  EXPECT_EQ(text, std::string(200, 'x') + std::string(300, 'y'));
  pool.stop();
}

}  // namespace
}  // namespace substrate::net
