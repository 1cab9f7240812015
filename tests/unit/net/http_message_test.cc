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

namespace substrate::net {
namespace {

// iequals compares eight bytes at a time (the last word overlapping): against a byte-wise
// ASCII case fold, at every length up to 24, with a difference at every position: a case
// difference (equal), another letter, and the pairs a blind `| 0x20` would confuse.
TEST(iequals, matches_a_bytewise_ascii_case_fold_at_every_length_and_position) {
  const auto reference = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto x = static_cast<unsigned char>(a[i]);
      auto y = static_cast<unsigned char>(b[i]);
      if (x >= 'A' && x <= 'Z') x |= 0x20;
      if (y >= 'A' && y <= 'Z') y |= 0x20;
      if (x != y) return false;
    }
    return true;
  };
  const std::string base = "content-type:x-request-id";
  const std::vector<std::pair<char, char>> swaps = {{'a', 'A'}, {'a', 'b'},  {'^', '~'}, {'@', '`'},
                                                    {'[', '{'}, {'-', '\r'}, {'z', 'Z'}, {'\xc3', '\xe3'}};
  for (std::size_t length = 0; length <= 24; ++length) {
    const std::string a = base.substr(0, length);
    EXPECT_TRUE(iequals(a, a));
    EXPECT_FALSE(iequals(a, a + "x"));
    for (std::size_t at = 0; at < length; ++at) {
      for (const auto& [from, to] : swaps) {
        std::string left = a;
        std::string right = a;
        left[at] = from;
        right[at] = to;
        ASSERT_EQ(iequals(left, right), reference(left, right))
            << "'" << left << "' vs '" << right << "' (length " << length << ", at " << at << ")";
      }
    }
  }
}

}  // namespace
}  // namespace substrate::net
