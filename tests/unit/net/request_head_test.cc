// parse_request_head: what it accepts means what Beast makes of the same bytes, and everything
// it is not meant to handle is declined (the server then parses with Beast).
#include "net/request_head.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "fuzz/request_head/beast_agreement.h"

namespace substrate::net {
namespace {

constexpr std::size_t head_max = 8 * 1024;
constexpr std::uint64_t body_max = 1024 * 1024;

std::optional<request_head> parse(std::string_view bytes) {
  return parse_request_head(bytes, head_max, body_max);
}

const std::string token(300, 'T');
const std::string typical =
    "POST /api/v1/events/message?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer " + token +
    "\r\nContent-Type:application/json \r\nContent-Length: 13\r\n\r\n{\"message\":1}";

// Beast, with the same limits, on the same bytes: the accepted request must agree field by field
// (fuzz/request_head/beast_agreement.h).
void expect_beast_agrees(std::string_view bytes, const request_head& head) {
  const auto disagreement = testing::beast_disagreement(bytes, head, head_max, body_max);
  EXPECT_FALSE(disagreement) << *disagreement << " on: " << bytes;
}

// The server keeps one request_head per connection: nothing of a request may show in the next.
TEST(request_head, a_reused_head_holds_only_the_latest_request) {
  request_head head;
  ASSERT_TRUE(parse_request_head(typical, head_max, body_max, head));
  ASSERT_EQ(head.field_count, 4u);
  const std::string bare = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  ASSERT_TRUE(parse_request_head(bare, head_max, body_max, head));
  const auto fresh = parse(bare);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/");
  EXPECT_EQ(head.version, 10u);
  EXPECT_EQ(head.field_count, 1u);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_EQ(head.head_bytes, bare.size());
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.field_count, fresh->field_count);
  EXPECT_EQ(head.content_length, fresh->content_length);
  expect_beast_agrees(bare, head);
  // A declined request between two accepted ones leaves nothing behind either.
  EXPECT_FALSE(parse_request_head("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", head_max, body_max, head));
  ASSERT_TRUE(parse_request_head(bare, head_max, body_max, head));
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_EQ(head.field_count, 1u);
}

TEST(request_head, a_typical_request_is_read_as_beast_reads_it) {
  const auto head = parse(typical);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->method, "POST");
  EXPECT_EQ(head->target, "/api/v1/events/message?x=1");
  EXPECT_EQ(head->version, 11u);
  ASSERT_EQ(head->field_count, 4u);
  EXPECT_EQ(head->fields[1].second, "Bearer " + token);
  EXPECT_EQ(head->fields[2].second, "application/json");  // OWS trimmed on both sides
  EXPECT_EQ(head->content_length, 13u);
  EXPECT_EQ(head->body(typical), "{\"message\":1}");
  EXPECT_TRUE(head->keep_alive);
  expect_beast_agrees(typical, *head);
}

// Found by fuzz/request_head: a repeated name. Both parsers keep both values, in order.
TEST(request_head, repeated_names_keep_all_their_values_in_order) {
  const std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\nX-Other: 1\r\nhost: b\r\n\r\n";
  const auto head = parse(bytes);
  ASSERT_TRUE(head);
  ASSERT_EQ(head->field_count, 3u);
  EXPECT_EQ(head->fields[0].second, "a");
  EXPECT_EQ(head->fields[2].second, "b");
  expect_beast_agrees(bytes, *head);
}

TEST(request_head, pipelined_bytes_after_the_request_are_left_alone) {
  const std::string two = typical + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto head = parse(two);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->head_bytes + head->content_length, typical.size());
  const auto second = parse(std::string_view(two).substr(typical.size()));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->target, "/hello");
  EXPECT_EQ(second->content_length, 0u);
}

TEST(request_head, keep_alive_follows_the_version_and_the_connection_field) {
  struct want {
    std::string bytes;
    bool keep_alive;
  };
  for (const auto& [bytes, keep_alive] : {
           want{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
           want{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
           want{"GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n", true},
           want{"GET / HTTP/1.0\r\nHost: x\r\n\r\n", false},
           want{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
           want{"GET / HTTP/1.0\r\nconnection: CLOSE\r\n\r\n", false},
       }) {
    const auto head = parse(bytes);
    ASSERT_TRUE(head) << bytes;
    EXPECT_EQ(head->keep_alive, keep_alive) << bytes;
    expect_beast_agrees(bytes, *head);
  }
}

TEST(request_head, every_incomplete_prefix_is_declined) {
  for (std::size_t size = 0; size < typical.size(); ++size) {
    EXPECT_FALSE(parse(std::string_view(typical).substr(0, size))) << size;
  }
}

TEST(request_head, what_beast_must_handle_is_declined) {
  for (const std::string bytes : {
           // framing and semantics it leaves to Beast
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
           "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
           "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
           "GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
           "GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
           "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\na",
           "POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\na",
           "POST / HTTP/1.1\r\nContent-Length: 0x1\r\n\r\na",
           "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
           "GET / HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n",
           "GET / HTTP/1.1\r\nX-Folded: a\r\n\tb\r\n\r\n",
           // malformed: Beast answers 400
           "GET / HTTP/2.0\r\n\r\n",
           "GET / http/1.1\r\n\r\n",
           "GET / HTTP/1.1\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           " GET / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
           "GET / HTTP/1.1\r\nBad : x\r\n\r\n",
           "GET / HTTP/1.1\r\n: x\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\x01"
           "b\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\x7f"
           "b\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\r\n\r",
           // valid for Beast, but outside the fast path's ASCII-only rules
           "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n",
           "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",
       }) {
    EXPECT_FALSE(parse(bytes)) << bytes;
  }
}

TEST(request_head, limits_are_left_to_beast) {
  const std::string body(100, 'b');
  const std::string request = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + body;
  EXPECT_TRUE(parse_request_head(request, head_max, 100));
  EXPECT_FALSE(parse_request_head(request, head_max, 99)) << "a body over the limit: Beast answers 413";
  const std::size_t head_bytes = request.size() - body.size();
  EXPECT_TRUE(parse_request_head(request, head_bytes, body_max));
  EXPECT_FALSE(parse_request_head(request, head_bytes - 1, body_max)) << "a head over the limit: Beast answers 431";
  std::string many = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i < request_head::fields_max; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_TRUE(parse(many + "\r\n"));
  EXPECT_FALSE(parse(many + "X-last: v\r\n\r\n")) << "more fields than the fixed array holds";
}

// The value and target scans take eight bytes at a time: a forbidden byte at any offset of any
// word must still end the scan, and a tab anywhere must still be accepted.
TEST(request_head, the_word_at_a_time_scans_see_every_byte) {
  for (std::size_t offset = 0; offset < 40; ++offset) {
    for (const char bad : {'\x00', '\x01', '\x1f', '\x7f', '\x80', '\xff', '\n'}) {
      std::string value(48, 'v');
      value[offset] = bad;
      EXPECT_FALSE(parse("GET / HTTP/1.1\r\nX: " + value + "\r\n\r\n")) << offset << " " << int(bad);
      std::string target = "/" + std::string(47, 't');
      target[offset + 1] = bad;
      EXPECT_FALSE(parse("GET " + target + " HTTP/1.1\r\n\r\n")) << offset << " " << int(bad);
    }
    std::string tabbed(48, 'v');
    tabbed[offset] = '\t';
    const std::string bytes = "GET / HTTP/1.1\r\nX: " + tabbed + "\r\n\r\n";
    const auto head = parse(bytes);
    ASSERT_TRUE(head) << offset;
    expect_beast_agrees(bytes, *head);
  }
}

}  // namespace
}  // namespace substrate::net
