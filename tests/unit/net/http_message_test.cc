#include "net/http_message.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace substrate::net {
namespace {

TEST(http_message, headers_are_case_insensitive) {
  http_request r;
  r.headers = {{"Content-Type", "application/json"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("accept"));
}

TEST(http_message, query_parameters_are_decoded) {
  http_request r;
  r.query = "a=1&name=J%C3%B6rg+K&flag&bad=%zz";
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("name"), "J\xC3\xB6rg K");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_FALSE(r.query_param("bad"));
  EXPECT_FALSE(r.query_param("missing"));
}

TEST(http_message, percent_decode_rejects_truncated_escapes) {
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("%4", false));
  EXPECT_EQ(percent_decode("%41", false), "A");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
}

// Text with nothing to decode takes a shortcut; '+' still decodes when it means a space.
TEST(http_message, percent_decode_returns_plain_text_as_it_is) {
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("message", false), "message");
  EXPECT_EQ(percent_decode("message", true), "message");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b%2B", true), "a b+");
}

TEST(http_message, error_body_has_the_platform_shape) {
  const auto r = http_response::error(413, "body_too_large", "too \"big\"");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.header("content-type"), "application/json");
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"], "body_too_large");
  EXPECT_EQ(body["message"], "too \"big\"");
}

TEST(http_message, set_header_replaces_case_insensitively) {
  http_response r;
  r.set_header("X-A", "1");
  r.set_header("x-a", "2");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.header("X-A"), "2");
}

}  // namespace
}  // namespace substrate::net
