// Golden bytes: frames written by hand from the Kafka protocol documentation
// (kafka.apache.org/protocol and the message JSON files) and, for ApiVersions v3, captured from
// librdkafka 2.0.2 / kcat 1.7.1 (spec section 1.3). Each test parses the bytes, checks the
// values, and re-encodes them to the same bytes.
#include <gtest/gtest.h>

#include "kafka/protocol/codec.h"
#include "kafka/protocol/frame.h"
#include "test_bytes.h"

namespace substrate::kafka {
namespace {

using testing::from_hex;
using testing::to_hex;

struct request_frame {
  parsed_request parsed;
  message body;
};

request_frame parse(const bytes& frame) {
  auto split = next_frame(frame);
  EXPECT_TRUE(split && *split) << "incomplete frame";
  EXPECT_EQ((*split)->consumed_bytes, frame.size());
  auto parsed = parse_request((*split)->body);
  EXPECT_TRUE(parsed) << parsed.error().message();
  auto body = decode(parsed->header.key, message_kind::request, parsed->header.api_version, parsed->body);
  EXPECT_TRUE(body) << body.error().message();
  return {*parsed, std::move(*body)};
}

TEST(kafka_golden, api_versions_request_v3_from_librdkafka_2_0_2) {
  const bytes frame = from_hex(
      "00 00 00 24"                       // frame size 36
      "00 12"                             // api_key 18 (ApiVersions)
      "00 03"                             // api_version 3
      "00 00 00 01"                       // correlation_id 1
      "00 07 72 64 6b 61 66 6b 61"        // client_id "rdkafka": int16 length, not compact
      "00"                                // header v2 tagged fields: none
      "0b 6c 69 62 72 64 6b 61 66 6b 61"  // client_software_name compact "librdkafka" (10 + 1)
      "06 32 2e 30 2e 32"                 // client_software_version compact "2.0.2" (5 + 1)
      "00");                              // body tagged fields: none
  auto [parsed, body] = parse(frame);
  EXPECT_EQ(parsed.header.key, api_key::api_versions);
  EXPECT_EQ(parsed.header.api_version, 3);
  EXPECT_EQ(parsed.header.correlation_id, 1);
  EXPECT_EQ(parsed.header.client_id, "rdkafka");
  EXPECT_EQ(parsed.header_version, 2);
  EXPECT_EQ(body.str("client_software_name"), "librdkafka");
  EXPECT_EQ(body.str("client_software_version"), "2.0.2");
  EXPECT_EQ(to_hex(*encode_request(parsed.header, body)), to_hex(frame));
}

TEST(kafka_golden, api_versions_response_v0) {
  message m = make_message(api_key::api_versions, message_kind::response);
  const std::int16_t ranges[][3] = {{0, 3, 7}, {18, 0, 3}};
  for (const auto& r : ranges) {
    message& entry = m.append("api_keys");
    entry.i16("api_key") = r[0];
    entry.i16("min_version") = r[1];
    entry.i16("max_version") = r[2];
  }
  const bytes frame = from_hex(
      "00 00 00 16"          // frame size 22
      "00 00 00 07"          // response header v0: correlation_id 7, nothing else
      "00 00"                // error_code 0
      "00 00 00 02"          // api_keys: int32 count 2
      "00 00 00 03 00 07"    // Produce (0) 3..7
      "00 12 00 00 00 03");  // ApiVersions (18) 0..3; v0 has no throttle_time_ms
  auto encoded = encode_response(api_key::api_versions, 0, 7, m);
  ASSERT_TRUE(encoded) << encoded.error().message();
  EXPECT_EQ(to_hex(*encoded), to_hex(frame));
  auto split = next_frame(frame);
  auto parsed = parse_response(api_key::api_versions, 0, (*split)->body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->correlation_id, 7);
  auto decoded = decode(api_key::api_versions, message_kind::response, 0, parsed->body);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(*decoded == m);
}

TEST(kafka_golden, api_versions_response_v3_uses_header_v0) {
  message m = make_message(api_key::api_versions, message_kind::response);
  message& entry = m.append("api_keys");
  entry.i16("api_key") = 18;
  entry.i16("max_version") = 3;
  const bytes frame = from_hex(
      "00 00 00 13"           // frame size 19
      "00 00 00 01"           // correlation_id 1; no header tag byte (KIP-511)
      "00 00"                 // error_code
      "02"                    // api_keys: compact array of 1
      "00 12 00 00 00 03 00"  // key 18, min 0, max 3, element tags
      "00 00 00 00"           // throttle_time_ms
      "00");                  // body tags: features left at their defaults are omitted
  EXPECT_EQ(to_hex(*encode_response(api_key::api_versions, 3, 1, m)), to_hex(frame));
}

TEST(kafka_golden, metadata_request_v1_with_one_topic) {
  const bytes frame = from_hex(
      "00 00 00 1d"                 // frame size 29
      "00 03 00 01"                 // api_key 3 (Metadata), api_version 1
      "00 00 00 02"                 // correlation_id 2
      "00 07 72 64 6b 61 66 6b 61"  // client_id "rdkafka"; header v1 (not flexible)
      "00 00 00 01"                 // topics: int32 count 1 (null would be ff ff ff ff)
      "00 06 65 76 65 6e 74 73");   // name "events"
  auto [parsed, body] = parse(frame);
  EXPECT_EQ(parsed.header.key, api_key::metadata);
  EXPECT_EQ(parsed.header_version, 1);
  ASSERT_EQ(body.array("topics").size(), 1u);
  EXPECT_EQ(body.array("topics")[0].nullable_str("name"), "events");
  EXPECT_EQ(to_hex(*encode_request(parsed.header, body)), to_hex(frame));
}

TEST(kafka_golden, produce_request_v3) {
  const bytes frame = from_hex(
      "00 00 00 36"                   // frame size 54
      "00 00 00 03"                   // api_key 0 (Produce), api_version 3
      "00 00 00 03"                   // correlation_id 3
      "00 07 72 64 6b 61 66 6b 61"    // client_id "rdkafka"
      "ff ff"                         // transactional_id: null
      "ff ff"                         // acks -1 (all)
      "00 00 75 30"                   // timeout_ms 30000
      "00 00 00 01"                   // topic_data: 1 topic
      "00 06 65 76 65 6e 74 73"       // name "events"
      "00 00 00 01"                   // partition_data: 1 partition
      "00 00 00 00"                   // index 0
      "00 00 00 05 01 02 03 04 05");  // records: int32 length 5, bytes carried untouched
  auto [parsed, body] = parse(frame);
  EXPECT_EQ(parsed.header.key, api_key::produce);
  EXPECT_EQ(parsed.header.api_version, 3);
  EXPECT_EQ(parsed.header.correlation_id, 3);
  EXPECT_FALSE(body.nullable_str("transactional_id").has_value());
  EXPECT_EQ(body.i16("acks"), -1);
  EXPECT_EQ(body.i32("timeout_ms"), 30000);
  const message& partition = body.array("topic_data")[0].array("partition_data")[0];
  EXPECT_EQ(partition.batches("records").data, (bytes{1, 2, 3, 4, 5}));
  EXPECT_EQ(to_hex(*encode_request(parsed.header, body)), to_hex(frame));
}

}  // namespace
}  // namespace substrate::kafka
