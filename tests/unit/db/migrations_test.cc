#include "db/migrations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/connection.h"
#include "postgres_fixture.h"

namespace substrate::db {
namespace {

using ::testing::HasSubstr;

class migrations_test : public postgres_fixture {
protected:
  connection open() {
    auto conn = connection::open(postgres().conninfo(), 5000);
    EXPECT_TRUE(conn) << conn.error().message();
    return std::move(*conn);
  }
};

TEST_F(migrations_test, applies_in_order_once_and_records_checksums) {
  auto conn = open();
  const std::vector<migration> set = {{1, "0001_a", "create table a (x int);"},
                                      {2, "0002_b", "insert into a values (1); insert into a values (2);"}};
  auto first = apply_migrations(conn, set);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->applied, 2);
  auto second = apply_migrations(conn, set);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->applied, 0);
  EXPECT_EQ(second->already_applied, 2);
  EXPECT_EQ(conn.exec("select count(*) from a")->value(0, 0), "2");
  auto recorded = conn.exec("select name, checksum from substrate_migrations order by version");
  EXPECT_EQ(recorded->value(1, 0), "0002_b");
  EXPECT_EQ(recorded->value(1, 1), sha256_hex(set[1].sql));
}

TEST_F(migrations_test, a_changed_applied_migration_stops_with_its_name) {
  auto conn = open();
  ASSERT_TRUE(apply_migrations(conn, {{1, "0001_a", "create table a (x int);"}}));
  auto changed = apply_migrations(conn, {{1, "0001_a", "create table a (x bigint);"}});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, errc::migration_changed);
  EXPECT_THAT(changed.error().context, HasSubstr("0001_a was changed after it was applied"));
}

TEST_F(migrations_test, a_failing_migration_is_rolled_back_whole) {
  auto conn = open();
  auto failed = apply_migrations(conn, {{1, "0001_bad", "create table half (x int); select * from missing_table;"}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, errc::migration_failed);
  EXPECT_THAT(failed.error().context, HasSubstr("0001_bad"));
  EXPECT_THAT(failed.error().context, HasSubstr("missing_table"));
  EXPECT_EQ(conn.exec("select to_regclass('half') is null")->value(0, 0), "t");
  EXPECT_EQ(conn.exec("select count(*) from substrate_migrations")->value(0, 0), "0");
}

TEST_F(migrations_test, a_recorded_migration_unknown_to_the_binary_stops_start_up) {
  auto conn = open();
  ASSERT_TRUE(apply_migrations(conn, {{1, "0001_a", "select 1;"}, {2, "0002_b", "select 2;"}}));
  auto older = apply_migrations(conn, {{1, "0001_a", "select 1;"}});
  ASSERT_FALSE(older);
  EXPECT_EQ(older.error().code, errc::migration_unknown);
}

TEST_F(migrations_test, the_embedded_migrations_apply_cleanly_twice) {
  auto conn = open();
  const auto& embedded = embedded_migrations();
  ASSERT_FALSE(embedded.empty());
  auto first = apply_migrations(conn, embedded);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->applied, static_cast<int>(embedded.size()));
  EXPECT_EQ(
      conn.exec("select count(*) from pg_roles where rolname in ('anon','authenticated','service_role')")->value(0, 0),
      "3");
  EXPECT_EQ(apply_migrations(conn, embedded)->applied, 0);
}

}  // namespace
}  // namespace substrate::db
