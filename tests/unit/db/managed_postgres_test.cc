// The managed cluster against a real PostgreSQL (the Debian server binaries), in a temporary
// data dir. Each test case gets its own cluster and port.
#include "db/managed_postgres.h"

#include <signal.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "db/connection.h"
#include "db/migrations.h"
#include "postgres_fixture.h"

namespace substrate::db {
namespace {

using ::testing::HasSubstr;

TEST_F(postgres_fixture, first_start_initialises_and_accepts_connections) {
  EXPECT_TRUE(postgres().initialised_now());
  auto conn = connection::open(postgres().conninfo(), 5000);
  ASSERT_TRUE(conn) << conn.error().message();
  auto r = conn->exec("show wal_level");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value(0, 0), "logical");
  auto slots = conn->exec("show max_replication_slots");
  EXPECT_EQ(slots->value(0, 0), "16");
}

TEST_F(postgres_fixture, tcp_clients_need_the_generated_password) {
  auto with_password = connection::open(postgres().url(), 5000);
  ASSERT_TRUE(with_password) << with_password.error().message();
  const std::string wrong = "postgresql://postgres:wrong@127.0.0.1:" + std::to_string(port()) + "/postgres";
  auto refused = connection::open(wrong, 5000);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().context, HasSubstr("password authentication failed"));
}

TEST_F(postgres_fixture, restart_reuses_the_cluster_and_keeps_data) {
  ASSERT_TRUE(
      connection::open(postgres().conninfo(), 5000)->exec("create table kept (x int); insert into kept values (7)"));
  restart();
  EXPECT_FALSE(postgres().initialised_now());
  auto r = connection::open(postgres().conninfo(), 5000)->exec("select x from kept");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value(0, 0), "7");
}

TEST_F(postgres_fixture, a_killed_server_is_reported_by_check_exited) {
  const pid_t pid = postgres().pid();
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  std::optional<std::string> exited;
  for (int i = 0; i < 500 && !exited; ++i) {
    exited = postgres().check_exited();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(exited);
  EXPECT_THAT(*exited, HasSubstr("signal 9"));
  // After an unclean death the next start recovers the cluster.
  restart();
  EXPECT_TRUE(connection::open(postgres().conninfo(), 5000));
}

TEST(managed_postgres, a_taken_port_fails_start_with_the_servers_own_words) {
  postgres_fixture::scratch_dir dir;
  core::database_config options;
  options.port = postgres_fixture::free_port();
  options.start_timeout_ms = 20000;
  managed_postgres first(dir.path + "/a", options);
  first.start();
  managed_postgres second(dir.path + "/b", options);
  try {
    second.start();
    FAIL() << "second server started on a taken port";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("during start-up"));
    EXPECT_THAT(e.what(), HasSubstr("could not"));
  }
  first.stop();
}

}  // namespace
}  // namespace substrate::db
