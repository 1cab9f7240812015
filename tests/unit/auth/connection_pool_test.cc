// The Auth service's connection pool against a real PostgreSQL: bounded, reuses connections,
// waits for a free one, and closes a discarded one instead of handing it out again.
#include "auth/connection_pool.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "../db/postgres_fixture.h"

namespace substrate::auth {
namespace {

using pool_test = db::postgres_fixture;

std::string backend_pid(db::connection& conn) {
  auto r = conn.exec("select pg_backend_pid()");
  EXPECT_TRUE(r);
  return r ? r->value(0, 0) : "";
}

TEST_F(pool_test, reuses_a_returned_connection) {
  connection_pool pool(postgres().conninfo(), 5000, 2);
  std::string first;
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease) << lease.error().message();
    first = backend_pid(**lease);
  }
  auto again = pool.acquire();
  ASSERT_TRUE(again);
  EXPECT_EQ(backend_pid(**again), first);
}

TEST_F(pool_test, waits_when_all_connections_are_leased) {
  connection_pool pool(postgres().conninfo(), 5000, 1);
  auto held = std::make_unique<connection_pool::lease>(*pool.acquire());
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    auto lease = pool.acquire();
    EXPECT_TRUE(lease);
    acquired = true;
  });
  // Not a timing assertion: the waiter cannot have a connection while the only one is held.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(acquired);
  held.reset();
  waiter.join();
  EXPECT_TRUE(acquired);
}

TEST_F(pool_test, a_discarded_connection_is_replaced) {
  connection_pool pool(postgres().conninfo(), 5000, 1);
  std::string first;
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease);
    first = backend_pid(**lease);
    lease->discard();
  }
  auto next = pool.acquire();
  ASSERT_TRUE(next);
  EXPECT_NE(backend_pid(**next), first);
}

TEST(connection_pool, an_unreachable_server_is_an_error_and_frees_the_slot) {
  connection_pool pool("postgresql://postgres@127.0.0.1:1/postgres", 1000, 1);
  EXPECT_FALSE(pool.acquire());
  EXPECT_FALSE(pool.acquire()) << "the failed attempt gave its slot back (no deadlock)";
}

}  // namespace
}  // namespace substrate::auth
