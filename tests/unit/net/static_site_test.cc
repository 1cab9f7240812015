#include "net/static_site.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace substrate::net {
namespace {

class static_site_test : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("static-site-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "assets");
    write("index.html", "<main>app</main>");
    write("assets/app-1a2b.js", "console.log(1)");
    write("logo.svg", "<svg/>");
    std::ofstream(root_.parent_path() / "outside.txt") << "secret";
    std::filesystem::create_symlink(root_.parent_path() / "outside.txt", root_ / "link.txt");
    site_ = static_site::load(root_.string());
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    std::filesystem::remove(root_.parent_path() / "outside.txt");
  }
  void write(const std::string& name, const std::string& body) { std::ofstream(root_ / name) << body; }
  http_response get(const std::string& path, const std::string& if_none_match = "") {
    http_request request;
    request.method = "GET";
    request.set_target(path);
    if (!if_none_match.empty()) request.headers.emplace_back("If-None-Match", if_none_match);
    return site_->serve(request);
  }

  std::filesystem::path root_;
  std::shared_ptr<const static_site> site_;
};

TEST_F(static_site_test, serves_files_with_their_type_and_cache_policy) {
  auto index = get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<main>app</main>");
  EXPECT_EQ(index.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("Cache-Control"), "no-cache");
  auto script = get("/assets/app-1a2b.js");
  EXPECT_EQ(script.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("/logo.svg").header("Content-Type"), "image/svg+xml");
}

TEST_F(static_site_test, an_unchanged_etag_gets_304_without_a_body) {
  auto first = get("/index.html");
  auto etag = std::string(*first.header("ETag"));
  auto again = get("/index.html", etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(get("/index.html", "\"other\"").status, 200);
}

TEST_F(static_site_test, client_routes_fall_back_to_index_and_nothing_escapes_the_root) {
  EXPECT_EQ(get("/settings/profile").body, "<main>app</main>");
  EXPECT_EQ(get("/missing.js").status, 404);
  EXPECT_EQ(get("/link.txt").status, 404) << "symlinks are not followed";
  EXPECT_EQ(get("/../outside.txt").status, 404);
  EXPECT_EQ(get("/%2e%2e/outside.txt").status, 404);
  EXPECT_EQ(get("/%zz").status, 400);
}

TEST(static_site, an_absent_root_is_an_empty_site) {
  auto site = static_site::load("/nonexistent/substrate/web/dist");
  EXPECT_TRUE(site->empty());
  EXPECT_EQ(site->bytes(), 0u);
}

}  // namespace
}  // namespace substrate::net
