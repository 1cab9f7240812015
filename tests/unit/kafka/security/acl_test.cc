// ACL matching (literal, wildcard, prefix, implied DESCRIBE, deny wins, no match denies), the
// file and the authorizer's super users and reload.
#include "kafka/security/acl.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace substrate::kafka::security {
namespace {

acl_entry allow(std::string principal, resource_type r, pattern_type p, std::string name, acl_operation op) {
  return {std::move(principal), r, p, std::move(name), op, acl_permission::allow};
}

TEST(acl, matching) {
  const std::vector<acl_entry> acls = {
      allow("User:alice", resource_type::topic, pattern_type::literal, "orders", acl_operation::write),
      allow("User:alice", resource_type::topic, pattern_type::prefixed, "billing.", acl_operation::read),
      allow("User:*", resource_type::topic, pattern_type::literal, "public", acl_operation::read),
      allow("User:bob", resource_type::topic, pattern_type::literal, "*", acl_operation::all),
      {"User:bob", resource_type::topic, pattern_type::prefixed, "secret.", acl_operation::read, acl_permission::deny},
      allow("User:alice", resource_type::group, pattern_type::prefixed, "app-", acl_operation::read),
  };
  using enum acl_operation;
  auto ok = [&](std::string_view who, resource_type r, std::string_view name, acl_operation op) {
    return acls_allow(acls, who, r, name, op);
  };
  EXPECT_TRUE(ok("User:alice", resource_type::topic, "orders", write));
  EXPECT_TRUE(ok("User:alice", resource_type::topic, "orders", describe)) << "WRITE implies DESCRIBE";
  EXPECT_FALSE(ok("User:alice", resource_type::topic, "orders", read));
  EXPECT_FALSE(ok("User:alice", resource_type::topic, "orders2", write)) << "literal is exact";
  EXPECT_TRUE(ok("User:alice", resource_type::topic, "billing.eu", read));
  EXPECT_TRUE(ok("User:alice", resource_type::topic, "billing.", read));
  EXPECT_FALSE(ok("User:alice", resource_type::topic, "billing", read));
  EXPECT_FALSE(ok("User:alice", resource_type::topic, "billing.eu", write));
  EXPECT_TRUE(ok("User:carol", resource_type::topic, "public", read)) << "User:* matches everybody";
  EXPECT_FALSE(ok("User:carol", resource_type::topic, "orders", describe)) << "no match denies";
  EXPECT_TRUE(ok("User:bob", resource_type::topic, "anything", create)) << "ALL on *";
  EXPECT_FALSE(ok("User:bob", resource_type::topic, "secret.x", read)) << "deny wins";
  EXPECT_TRUE(ok("User:bob", resource_type::topic, "secret.x", describe)) << "a DENY READ does not deny DESCRIBE";
  EXPECT_FALSE(ok("User:bob", resource_type::group, "anything", read)) << "resource types are separate";
  EXPECT_TRUE(ok("User:alice", resource_type::group, "app-1", read));
  EXPECT_TRUE(ok("User:alice", resource_type::group, "app-1", describe));
  EXPECT_TRUE(acls_allow_any(acls, "User:alice", resource_type::topic, write));
  EXPECT_FALSE(acls_allow_any(acls, "User:carol", resource_type::topic, write));
}

TEST(acl, names_and_validation) {
  for (auto op : {acl_operation::all, acl_operation::delete_, acl_operation::describe_configs}) {
    EXPECT_EQ(parse_operation(to_string(op)), op);
  }
  EXPECT_FALSE(parse_operation("DELETE"));
  EXPECT_TRUE(check_acl(allow("alice", resource_type::topic, pattern_type::literal, "t", acl_operation::read)));
  EXPECT_TRUE(check_acl(allow("User:", resource_type::topic, pattern_type::literal, "t", acl_operation::read)));
  EXPECT_TRUE(check_acl(allow("User:a", resource_type::topic, pattern_type::literal, "", acl_operation::read)));
  EXPECT_TRUE(check_acl(allow("User:a", resource_type::cluster, pattern_type::literal, "x", acl_operation::create)));
  EXPECT_TRUE(check_acl(allow("User:a", resource_type::topic, pattern_type::prefixed, "*", acl_operation::read)));
  EXPECT_FALSE(check_acl(
      allow("User:a", resource_type::cluster, pattern_type::literal, "kafka-cluster", acl_operation::create)));
  EXPECT_EQ(describe(allow("User:a", resource_type::topic, pattern_type::prefixed, "o.", acl_operation::write)),
            "allow User:a write topic prefixed 'o.'");
}

class acl_file_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("substrate-acls-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    file_ = dir_ / "acls.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

TEST_F(acl_file_test, add_remove_round_trip) {
  const auto a = allow("User:alice", resource_type::topic, pattern_type::literal, "orders", acl_operation::write);
  const auto b = allow("User:bob", resource_type::group, pattern_type::prefixed, "g", acl_operation::read);
  EXPECT_TRUE(*add_acl(file_, a));
  EXPECT_FALSE(*add_acl(file_, a)) << "idempotent";
  EXPECT_TRUE(*add_acl(file_, b));
  EXPECT_FALSE(add_acl(file_, allow("bob", resource_type::topic, pattern_type::literal, "t", acl_operation::read)));
  EXPECT_EQ(*load_acls(file_), (std::vector{a, b}));
  auto removed = remove_acls(file_, [](const acl_entry& e) { return e.principal == "User:alice"; });
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, std::vector{a});
  EXPECT_EQ(*load_acls(file_), std::vector{b});
  EXPECT_FALSE(parse_acls(R"({"version":1,"acls":[{"principal":"User:a"}]})", "t"));
  EXPECT_FALSE(parse_acls(R"({"version":1,"acls":[{"principal":"User:a","resource_type":"topic",)"
                          R"("pattern_type":"literal","name":"t","operation":"fly","permission":"allow"}]})",
                          "t"));
}

TEST_F(acl_file_test, authorizer_super_users_and_reload) {
  authorizer auth({file_, {"User:admin"}});
  EXPECT_TRUE(auth.authorize("User:admin", resource_type::topic, "x", acl_operation::delete_));
  EXPECT_FALSE(auth.authorize("User:alice", resource_type::topic, "orders", acl_operation::write));
  ASSERT_TRUE(
      add_acl(file_, allow("User:alice", resource_type::topic, pattern_type::literal, "orders", acl_operation::write)));
  // Picked up within a second (the check interval); no sleeping past a fixed time, just polling.
  bool seen = false;
  for (int i = 0; i < 300 && !seen; ++i) {
    seen = auth.authorize("User:alice", resource_type::topic, "orders", acl_operation::write);
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(seen);
  EXPECT_THROW(authorizer({file_, {"admin"}}), std::runtime_error);
}

TEST_F(acl_file_test, authorizer_is_safe_to_share_between_threads_during_reloads) {
  authorizer auth({file_, {}});
  std::atomic<bool> done{false};
  std::atomic<int> allowed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        if (auth.authorize("User:alice", resource_type::topic, "t", acl_operation::read)) ++allowed;
      }
    });
  }
  // Each rewrite is a new file version; the readers' once-a-second check picks some of them up.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    if (i % 2 == 0) {
      ASSERT_TRUE(
          add_acl(file_, allow("User:alice", resource_type::topic, pattern_type::literal, "t", acl_operation::read)));
    } else {
      ASSERT_TRUE(remove_acls(file_, [](const acl_entry&) { return true; }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  done = true;
  for (auto& r : readers) r.join();
  SUCCEED() << allowed.load() << " allowed checks";
}

}  // namespace
}  // namespace substrate::kafka::security
