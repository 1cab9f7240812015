#include "gateway/routes.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "gateway/errc.h"

namespace substrate::gateway {
namespace {

constexpr std::string_view reference = R"(webhookRoutes:
  login: public.identity.login.events
  signup: public.identity.signup.events
  signout: public.identity.signout.events
externalRoutes:
  message: public.user.message.events
)";

TEST(routes, parses_the_reference_file) {
  auto table = parse_routes(reference, 42);
  ASSERT_TRUE(table) << table.error().message();
  EXPECT_EQ(table->webhook.size(), 3u);
  ASSERT_TRUE(table->webhook_topic("login"));
  EXPECT_EQ(*table->webhook_topic("login"), "public.identity.login.events");
  ASSERT_TRUE(table->external_topic("message"));
  EXPECT_EQ(*table->external_topic("message"), "public.user.message.events");
  EXPECT_FALSE(table->external_topic("login"));  // the two maps are separate allowlists
  EXPECT_FALSE(table->webhook_topic("message"));
  EXPECT_EQ(table->version.size(), 16u);
  EXPECT_EQ(table->loaded_at_ms, 42);
}

TEST(routes, lower_cases_keys_and_accepts_empty_documents) {
  auto table = parse_routes("externalRoutes:\n  Message: public.user.message.events\n", 0);
  ASSERT_TRUE(table);
  EXPECT_TRUE(table->external_topic("message"));
  auto empty = parse_routes("", 0);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->webhook.empty());
  auto only_comments = parse_routes("# nothing yet\n", 0);
  ASSERT_TRUE(only_comments);
  EXPECT_NE(parse_routes("a: 1", 0)->version, parse_routes("a: 2", 0)->version);
}

TEST(routes, refuses_malformed_files_naming_the_key) {
  for (const std::string_view text : {
           std::string_view("webhookRoutes: [login]"),
           std::string_view("webhookRoutes:\n  login: [a, b]"),
           std::string_view("externalRoutes:\n  message: 'bad topic name'"),
           std::string_view("externalRoutes:\n  'a/b': public.x"),
           std::string_view("- just\n- a list"),
           std::string_view("webhookRoutes: {login: x\n"),
       }) {
    auto table = parse_routes(text, 0);
    ASSERT_FALSE(table) << text;
    EXPECT_EQ(table.error().code, errc::invalid_routes);
  }
  auto named = parse_routes("externalRoutes:\n  message: 'bad topic'", 0);
  EXPECT_NE(named.error().context.find("externalRoutes.message"), std::string::npos) << named.error().context;
}

class routes_file : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/gateway-routes-XXXXXX";
    directory_ = mkdtemp(pattern);
    path_ = directory_ + "/routes.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // Replaces the file atomically (write a temporary, rename over), as editors and
  // `kubectl`-mounted ConfigMaps do.
  void replace(std::string_view text) const {
    const std::string temporary = directory_ + "/.routes.yaml.tmp";
    std::ofstream(temporary) << text;
    std::filesystem::rename(temporary, path_);
  }
  void write_in_place(std::string_view text) const { std::ofstream(path_, std::ios::trunc) << text; }

  template <class Condition>
  static bool eventually(Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
  }

  std::string directory_;
  std::string path_;
};

TEST_F(routes_file, missing_at_start_means_every_route_is_refused) {
  core::metrics_registry metrics;
  route_store store(path_, metrics);
  EXPECT_TRUE(store.current()->webhook.empty());
  EXPECT_EQ(store.current()->version, "empty");
}

TEST_F(routes_file, invalid_at_start_is_a_start_up_error) {
  write_in_place("webhookRoutes: [x]");
  core::metrics_registry metrics;
  EXPECT_THROW(route_store(path_, metrics), std::runtime_error);
}

TEST_F(routes_file, follows_changes_within_a_second_and_keeps_the_old_routes_when_broken) {
  replace(reference);
  core::metrics_registry metrics;
  route_store store(path_, metrics);
  store.watch();
  const std::string first = store.current()->version;
  EXPECT_FALSE(store.current()->external_topic("ping"));

  // A route added by an atomic replace.
  replace(std::string(reference) + "  ping: public.user.ping.events\n");
  ASSERT_TRUE(eventually([&] { return store.current()->external_topic("ping") != nullptr; }));
  const std::string second = store.current()->version;
  EXPECT_NE(second, first);

  // A broken file written in place: the routes stay, the error is kept and counted.
  write_in_place("externalRoutes: [oops");
  ASSERT_TRUE(eventually([&] { return store.last_error().has_value(); }));
  EXPECT_EQ(store.current()->version, second);
  EXPECT_TRUE(store.current()->external_topic("ping"));
  EXPECT_NE(metrics.render().find(R"(substrate_gateway_routes_reload_total{result="error"} 1)"), std::string::npos)
      << metrics.render();

  // Deleted: still the last good routes. Fixed: applied, error cleared.
  std::filesystem::remove(path_);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(store.current()->version, second);
  write_in_place(reference);
  ASSERT_TRUE(eventually([&] { return store.current()->version == first; }));
  EXPECT_FALSE(store.last_error());
  EXPECT_FALSE(store.current()->external_topic("ping"));
  store.stop();
}

TEST_F(routes_file, follows_a_symlink_swap_like_a_kubernetes_config_map) {
  // ConfigMap volumes: routes.yaml -> ..data/routes.yaml, ..data -> ..<timestamp>; an update
  // renames a new ..data symlink over the old one.
  std::filesystem::create_directory(directory_ + "/..v1");
  std::ofstream(directory_ + "/..v1/routes.yaml") << reference;
  std::filesystem::create_directory_symlink("..v1", directory_ + "/..data");
  std::filesystem::create_symlink("..data/routes.yaml", path_);
  core::metrics_registry metrics;
  route_store store(path_, metrics);
  store.watch();
  EXPECT_TRUE(store.current()->webhook_topic("login"));
  std::filesystem::create_directory(directory_ + "/..v2");
  std::ofstream(directory_ + "/..v2/routes.yaml") << "webhookRoutes:\n  signup: public.identity.signup.events\n";
  std::filesystem::create_directory_symlink("..v2", directory_ + "/..data_tmp");
  std::filesystem::rename(directory_ + "/..data_tmp", directory_ + "/..data");
  ASSERT_TRUE(eventually([&] { return store.current()->webhook_topic("login") == nullptr; }));
  EXPECT_TRUE(store.current()->webhook_topic("signup"));
}

}  // namespace
}  // namespace substrate::gateway
