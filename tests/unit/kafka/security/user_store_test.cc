// The users file: CLI-side add/delete, format validation, 0600 and atomic replacement, and the
// broker-side store picking up changes.
#include "kafka/security/user_store.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "kafka/security/errc.h"

namespace substrate::kafka::security {
namespace {

class user_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("substrate-users-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    file_ = dir_ / "kafka-security" / "users.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

TEST_F(user_store_test, add_list_delete) {
  EXPECT_TRUE(load_users(file_)->empty());
  ASSERT_TRUE(add_user(file_, "alice", "pw-alice"));
  ASSERT_TRUE(add_user(file_, "bob", "pw-bob", 8192));
  auto again = add_user(file_, "alice", "x");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::user_exists);
  auto users = load_users(file_);
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ(users->at("bob").scram_sha_256.iterations, 8192);
  EXPECT_TRUE(verify_password(users->at("alice").scram_sha_256, "pw-alice"));
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(file_);
  const std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content.find("pw-alice"), std::string::npos) << "never a plaintext password";
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".tmp"));

  ASSERT_TRUE(delete_user(file_, "alice"));
  auto missing = delete_user(file_, "alice");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::user_not_found);
  EXPECT_EQ(load_users(file_)->size(), 1u);
}

TEST_F(user_store_test, validates_names_passwords_and_iterations) {
  for (const char* bad : {"", "a b", "a,b", "a=b", "User:x", "caf\xc3\xa9"}) {
    auto r = add_user(file_, bad, "pw");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_name);
  }
  EXPECT_FALSE(add_user(file_, "ok", ""));
  EXPECT_FALSE(add_user(file_, "ok", "pw", 4095));
  EXPECT_TRUE(add_user(file_, "svc.orders-1@prod", "pw"));
}

TEST_F(user_store_test, rejects_broken_files) {
  for (
      const char* text :
      {"", "{", "[]", R"({"version":2,"users":[]})", R"({"version":1})", R"({"version":1,"users":[{"name":"a"}]})",
       R"({"version":1,"users":[{"name":"a","scram_sha_256":{"salt":"AAAA","iterations":4096,"stored_key":"AAAA","server_key":"AAAA"}}]})",
       R"({"version":1,"users":[{"name":"a b","scram_sha_256":{}}]})"}) {
    auto r = parse_users(text, "test");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, errc::invalid_file);
  }
  EXPECT_TRUE(parse_users(R"({"version":1,"users":[]})", "test"));
}

TEST_F(user_store_test, store_sees_changes_and_keeps_the_last_good_version) {
  user_store store(file_);
  ASSERT_TRUE(store.load());
  EXPECT_FALSE(store.find("alice"));
  ASSERT_TRUE(add_user(file_, "alice", "pw"));
  ASSERT_TRUE(store.find("alice"));
  EXPECT_TRUE(verify_password(*store.find("alice"), "pw"));
  {
    std::ofstream out(file_, std::ios::trunc);
    out << "not json";
  }
  EXPECT_TRUE(store.find("alice")) << "a broken file keeps the previous users";
  ASSERT_TRUE(std::filesystem::remove(file_));
  EXPECT_FALSE(store.find("alice")) << "no file: no users";
}

}  // namespace
}  // namespace substrate::kafka::security
