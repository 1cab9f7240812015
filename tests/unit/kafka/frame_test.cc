#include "kafka/protocol/frame.h"

#include <gtest/gtest.h>

#include "kafka/protocol/codec.h"
#include "kafka/protocol/errc.h"
#include "test_bytes.h"

namespace substrate::kafka {
namespace {

using testing::from_hex;
using testing::to_hex;

TEST(kafka_frame, next_frame_waits_for_complete_frames) {
  const bytes two = from_hex("00 00 00 02 aa bb 00 00 00 01 cc");
  EXPECT_FALSE(*next_frame(std::span(two).first(3)));
  EXPECT_FALSE(*next_frame(std::span(two).first(5)));
  auto first = next_frame(two);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(to_hex((*first)->body), "aa bb");
  EXPECT_EQ((*first)->consumed_bytes, 6u);
  auto second = next_frame(std::span(two).subspan(6));
  ASSERT_TRUE(second && *second);
  EXPECT_EQ(to_hex((*second)->body), "cc");
  auto empty = next_frame(from_hex("00 00 00 00"));
  ASSERT_TRUE(empty && *empty);
  EXPECT_TRUE((*empty)->body.empty());
}

TEST(kafka_frame, size_limits) {
  auto too_large = next_frame(from_hex("00 00 10 01"), 4096);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code, make_error_code(errc::frame_too_large));
  EXPECT_TRUE(next_frame(from_hex("00 00 10 00"), 4096));
  auto negative = next_frame(from_hex("ff ff ff ff"));
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, make_error_code(errc::invalid_length));
  // The default limit is Kafka's socket.request.max.bytes.
  EXPECT_FALSE(next_frame(from_hex("06 40 00 01")));
  EXPECT_TRUE(next_frame(from_hex("06 40 00 00")));
}

TEST(kafka_frame, header_versions) {
  EXPECT_EQ(request_header_version(api_key::api_versions, 2), 1);
  EXPECT_EQ(request_header_version(api_key::api_versions, 3), 2);
  EXPECT_EQ(request_header_version(api_key::api_versions, 4), 2);   // unsupported, still flexible
  EXPECT_EQ(response_header_version(api_key::api_versions, 3), 0);  // KIP-511
  EXPECT_EQ(response_header_version(api_key::api_versions, 0), 0);
  EXPECT_EQ(request_header_version(api_key::metadata, 8), 1);
  EXPECT_EQ(request_header_version(api_key::metadata, 9), 2);
  EXPECT_EQ(response_header_version(api_key::metadata, 8), 0);
  EXPECT_EQ(response_header_version(api_key::metadata, 9), 1);
  EXPECT_EQ(request_header_version(api_key::offset_fetch, 7), 2);
  EXPECT_EQ(response_header_version(api_key::offset_fetch, 7), 1);
  EXPECT_EQ(request_header_version(api_key::init_producer_id, 4), 2);
  EXPECT_EQ(request_header_version(api_key::sasl_handshake, 1), 1);
  EXPECT_EQ(response_header_version(api_key::sasl_handshake, 1), 0);
  EXPECT_EQ(request_header_version(api_key::produce, 7), 1);
  EXPECT_EQ(request_header_version(api_key::fetch, 11), 1);
}

TEST(kafka_frame, request_header_v1_with_null_client_id) {
  // Heartbeat v0: header v1 with a null client_id, then the body.
  const bytes frame = from_hex("00 0c 00 00 00 00 00 09 ff ff 00 01 67 00 00 00 02 00 01 6d");
  auto parsed = parse_request(frame);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->header.key, api_key::heartbeat);
  EXPECT_EQ(parsed->header.correlation_id, 9);
  EXPECT_FALSE(parsed->header.client_id.has_value());
  EXPECT_EQ(parsed->header_version, 1);
  auto body = decode(api_key::heartbeat, message_kind::request, 0, parsed->body);
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(body->str("group_id"), "g");
  EXPECT_EQ(body->i32("generation_id"), 2);
  EXPECT_EQ(body->str("member_id"), "m");
}

TEST(kafka_frame, request_header_v2_skips_header_tags) {
  // Heartbeat v4: client_id "c", then a header tag buffer with one unknown tag.
  const bytes frame = from_hex("00 0c 00 04 00 00 00 01 00 01 63 01 05 02 aa bb 02 67 00 00 00 01 02 6d 00 00");
  auto parsed = parse_request(frame);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->header_version, 2);
  EXPECT_EQ(parsed->header.client_id, "c");
  EXPECT_TRUE(decode(api_key::heartbeat, message_kind::request, 4, parsed->body));
}

TEST(kafka_frame, hostile_headers) {
  auto unknown = parse_request(from_hex("00 39 00 00 00 00 00 05 ff ff"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, make_error_code(errc::unknown_api_key));
  EXPECT_NE(unknown.error().context.find("correlation_id 5"), std::string::npos);
  const bytes full = from_hex("00 12 00 03 00 00 00 01 00 07 72 64 6b 61 66 6b 61 00");
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto cut = parse_request(std::span(full).first(n));
    ASSERT_FALSE(cut) << n;
    EXPECT_EQ(cut.error().code, make_error_code(errc::truncated));
  }
  auto bad_client_id = parse_request(from_hex("00 12 00 00 00 00 00 01 ff fe"));
  ASSERT_FALSE(bad_client_id);
  EXPECT_EQ(bad_client_id.error().code, make_error_code(errc::invalid_length));
  // An unsupported version of a known key parses; the broker decides what to answer.
  auto future = parse_request(from_hex("00 12 00 09 00 00 00 01 ff ff 00"));
  ASSERT_TRUE(future);
  EXPECT_EQ(future->header.api_version, 9);
  EXPECT_EQ(future->header_version, 2);
}

TEST(kafka_frame, response_frames_round_trip) {
  message m = make_message(api_key::heartbeat, message_kind::response);
  m.i16("error_code") = 27;
  for (std::int16_t v : {0, 3, 4}) {
    auto frame = encode_response(api_key::heartbeat, v, 77, m);
    ASSERT_TRUE(frame);
    auto split = next_frame(*frame);
    auto parsed = parse_response(api_key::heartbeat, v, (*split)->body);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->correlation_id, 77);
    auto body = decode(api_key::heartbeat, message_kind::response, v, parsed->body);
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_EQ(body->i16("error_code"), 27);
  }
  // v4 is flexible: header v1 carries a tag byte after the correlation id.
  EXPECT_EQ(to_hex(*encode_response(api_key::heartbeat, 4, 1, m)), "00 00 00 0c 00 00 00 01 00 00 00 00 00 00 1b 00");
}

}  // namespace
}  // namespace substrate::kafka
