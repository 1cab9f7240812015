#include "net/router.h"

#include <gtest/gtest.h>

namespace substrate::net {
namespace {

http_handler handler() {
  return [](http_request&) -> boost::asio::awaitable<http_response> { co_return http_response::json(200, "{}"); };
}

TEST(router, literal_and_parameter_segments) {
  router r;
  r.add("POST", "/api/v1/events/{key}", handler());
  auto m = r.find("POST", "/api/v1/events/user.message");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params.at("key"), "user.message");
  EXPECT_EQ(r.find("POST", "/api/v1/events").handler, nullptr);
  EXPECT_EQ(r.find("POST", "/api/v1/events/").handler, nullptr);
  EXPECT_EQ(r.find("POST", "/api/v1/events/a/b").handler, nullptr);
}

TEST(router, rest_parameter_takes_slashes) {
  router r;
  r.add("GET", "/storage/{bucket}/{key*}", handler());
  auto m = r.find("GET", "/storage/media/uploads/u1/a%20b.png");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params.at("bucket"), "media");
  EXPECT_EQ(m.params.at("key"), "uploads/u1/a b.png");
}

TEST(router, wrong_method_lists_allowed_methods) {
  router r;
  r.add("GET", "/x", handler()).add("PUT", "/x", handler());
  auto m = r.find("DELETE", "/x");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "PUT"}));
  EXPECT_TRUE(r.find("DELETE", "/y").allowed_methods.empty());
}

TEST(router, head_is_served_by_get) {
  router r;
  r.add("GET", "/x", handler());
  EXPECT_NE(r.find("HEAD", "/x").handler, nullptr);
}

TEST(router, first_registered_match_wins) {
  router r;
  int which = 0;
  r.add("GET", "/a/literal", [&which](http_request&) -> boost::asio::awaitable<http_response> {
    which = 1;
    co_return http_response{};
  });
  r.add("GET", "/a/{p}", handler());
  auto m = r.find("GET", "/a/literal");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_TRUE(m.params.empty());
}

// A route that matches part of the path (setting a parameter) and then fails leaves nothing in
// the parameters of the route that matches, nor in a 405's.
TEST(router, parameters_come_from_the_matching_route_only) {
  router r;
  r.add("GET", "/a/{p}/x", handler());
  r.add("GET", "/a/{q}/y", handler());
  r.add("POST", "/b/{p}", handler());
  auto m = r.find("GET", "/a/1/y");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params.at("q"), "1");
  EXPECT_FALSE(m.params.contains("p"));
  auto refused = r.find("GET", "/b/2");
  EXPECT_EQ(refused.handler, nullptr);
  EXPECT_EQ(refused.allowed_methods, std::vector<std::string>{"POST"});
  EXPECT_TRUE(refused.params.empty());
  EXPECT_THROW((void)m.params.at("p"), std::out_of_range);
}

TEST(router, malformed_percent_encoding_is_flagged) {
  router r;
  r.add("GET", "/a/{p}", handler());
  EXPECT_TRUE(r.find("GET", "/a/%zz").bad_encoding);
  EXPECT_FALSE(r.find("GET", "/a/%41").bad_encoding);
  EXPECT_EQ(r.find("GET", "/a/%41").params.at("p"), "A");
}

TEST(router, malformed_patterns_are_rejected) {
  router r;
  EXPECT_THROW(r.add("GET", "no-slash", handler()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/{rest*}/after", handler()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a{b}", handler()), std::invalid_argument);
}

TEST(router, websocket_routes_are_found_for_get) {
  router r;
  r.add_websocket("/realtime/v1/websocket",
                  [](const http_request&) -> websocket_accept { return http_response::error(403, "no", "no"); });
  auto m = r.find("GET", "/realtime/v1/websocket");
  EXPECT_NE(m.websocket, nullptr);
  EXPECT_EQ(m.handler, nullptr);
}

}  // namespace
}  // namespace substrate::net
