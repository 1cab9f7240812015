// db::pool against a real PostgreSQL: the bound, the acquire timeout, reuse, discarding, and a
// fresh connection after the server restarted under idle ones.
#include "db/pool.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "postgres_fixture.h"

namespace substrate::db {
namespace {

class pool_test : public postgres_fixture {
protected:
  pool_options options(std::size_t size, int timeout_ms) {
    return pool_options{postgres().conninfo(), size, timeout_ms, 5000, "set timezone = 'UTC'"};
  }
  static std::string backend_pid(pool::lease& lease) {
    auto r = lease->exec("select pg_backend_pid()");
    EXPECT_TRUE(r);
    return r ? r->value(0, 0) : "";
  }
  // One cluster (initdb takes seconds) for the checks that need no restart.
  void reuses_connections_and_runs_on_connect();
  void bounds_connections_and_times_out();
  void discarded_connections_are_replaced();
  void exec_params_reports_sqlstate_detail_and_hint();
  void copy_in_loads_rows_and_reports_failures();
  void prepared_statements_per_connection_are_bounded();
};

void pool_test::reuses_connections_and_runs_on_connect() {
  pool p(options(2, 1000));
  std::string first;
  {
    auto lease = p.acquire();
    ASSERT_TRUE(lease) << lease.error().message();
    first = backend_pid(*lease);
    EXPECT_EQ((*lease)->exec("show timezone")->value(0, 0), "UTC");
  }
  EXPECT_EQ(p.idle(), 1u);
  auto again = p.acquire();
  ASSERT_TRUE(again);
  EXPECT_EQ(backend_pid(*again), first);
}

void pool_test::bounds_connections_and_times_out() {
  pool p(options(2, 200));
  auto a = p.acquire();
  auto b = p.acquire();
  ASSERT_TRUE(a && b);
  const auto start = std::chrono::steady_clock::now();
  auto c = p.acquire();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::pool_timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  // A lease returned meanwhile wakes a waiter.
  std::thread releaser([lease = std::move(*a)]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto gone = std::move(lease);
  });
  auto d = p.acquire();
  releaser.join();
  EXPECT_TRUE(d) << "the waiter got the released connection";
}

void pool_test::discarded_connections_are_replaced() {
  pool p(options(1, 1000));
  std::string first;
  {
    auto lease = p.acquire();
    ASSERT_TRUE(lease);
    first = backend_pid(*lease);
    lease->discard();
  }
  EXPECT_EQ(p.idle(), 0u);
  auto lease = p.acquire();
  ASSERT_TRUE(lease);
  EXPECT_NE(backend_pid(*lease), first);
}

TEST_F(pool_test, reconnects_after_the_server_restarts) {
  pool p(options(1, 1000));
  {
    auto lease = p.acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE((*lease)->exec("select 1"));
  }
  restart();
  {
    // The idle connection is dead; the first statement on it fails and marks it broken.
    auto lease = p.acquire();
    ASSERT_TRUE(lease);
    server_error error;
    if (!(*lease)->exec_params("select 1", {}, error)) {
      EXPECT_TRUE(error.sqlstate.empty() || error.sqlstate.starts_with("57") || error.sqlstate.starts_with("08"));
      lease->discard();
    }
  }
  auto lease = p.acquire();
  ASSERT_TRUE(lease) << lease.error().message();
  EXPECT_TRUE((*lease)->exec("select 1"));
}

void pool_test::exec_params_reports_sqlstate_detail_and_hint() {
  pool p(options(1, 1000));
  auto lease = p.acquire();
  ASSERT_TRUE(lease);
  server_error error;
  EXPECT_FALSE((*lease)->exec_params("select $1::int", {std::string("x")}, error));
  EXPECT_EQ(error.sqlstate, "22P02");
  EXPECT_FALSE((*lease)->exec_params(
      "do $$ begin raise exception 'boom' using detail = 'd', hint = 'h', errcode = 'PT409'; end $$", {}, error));
  EXPECT_EQ(error.sqlstate, "PT409");
  EXPECT_EQ(error.message, "boom");
  EXPECT_EQ(error.detail, "d");
  EXPECT_EQ(error.hint, "h");
  auto inserted = (*lease)->exec_params("create temp table t as select 1 as x union all select 2", {}, error);
  ASSERT_TRUE(inserted);
  EXPECT_EQ(inserted->affected_rows(), 2);
}

void pool_test::copy_in_loads_rows_and_reports_failures() {
  pool p(options(1, 1000));
  auto lease = p.acquire();
  ASSERT_TRUE(lease);
  auto& conn = **lease;
  ASSERT_TRUE(conn.exec("create temp table c (n int, t text)"));
  auto copied = conn.copy_in("copy c (n, t) from stdin", "1\ta\\tb\n2\t\\N\n");
  ASSERT_TRUE(copied) << copied.error().message();
  EXPECT_EQ(conn.exec("select string_agg(n || '=' || coalesce(t, 'null'), ',' order by n) from c")->value(0, 0),
            "1=a\tb,2=null");
  // Bad data: the COPY fails with the server's SQLSTATE, and the connection stays usable.
  auto bad = conn.copy_in("copy c (n, t) from stdin", "x\ty\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(conn.last_sqlstate(), "22P02");
  EXPECT_TRUE(conn.exec("select 1"));
  // Not a COPY FROM STDIN.
  EXPECT_FALSE(conn.copy_in("select 1", "1\n"));
  EXPECT_FALSE(conn.copy_in("copy nowhere from stdin", "1\n"));
  EXPECT_EQ(conn.last_sqlstate(), "42P01");
  EXPECT_EQ(conn.exec("select count(*) from c")->value(0, 0), "2");
}

// exec_pipeline prepares each distinct statement once per connection, and never keeps more
// than prepared_max on the server: past it, it deallocates them all and starts over.
void pool_test::prepared_statements_per_connection_are_bounded() {
  pool p(options(1, 1000));
  auto lease = p.acquire();
  ASSERT_TRUE(lease);
  auto& conn = **lease;
  const auto server_count = [&] {
    return std::stoul(conn.exec("select count(*) from pg_prepared_statements")->value(0, 0));
  };
  const std::size_t shapes = connection::prepared_max + 44;
  for (std::size_t i = 0; i < shapes; ++i) {
    server_error error;
    auto r = conn.exec_pipeline({{fmt::format("select $1::int + {}", i), {std::string("1")}, true}}, error);
    ASSERT_TRUE(r) << error.message;
    EXPECT_EQ((*r)[0].value(0, 0), std::to_string(i + 1));
    ASSERT_LE(conn.prepared_count(), connection::prepared_max);
  }
  EXPECT_EQ(server_count(), conn.prepared_count());
  EXPECT_EQ(conn.prepared_count(), shapes - connection::prepared_max);
  // A statement seen before is not prepared again.
  server_error error;
  const std::string last = fmt::format("select $1::int + {}", shapes - 1);
  ASSERT_TRUE(conn.exec_pipeline({{last, {std::string("2")}, true}}, error));
  EXPECT_EQ(conn.prepared_count(), shapes - connection::prepared_max);
}

TEST_F(pool_test, leases_bounds_discards_and_errors) {
  reuses_connections_and_runs_on_connect();
  bounds_connections_and_times_out();
  discarded_connections_are_replaced();
  exec_params_reports_sqlstate_detail_and_hint();
  copy_in_loads_rows_and_reports_failures();
  prepared_statements_per_connection_are_bounded();
}

}  // namespace
}  // namespace substrate::db
