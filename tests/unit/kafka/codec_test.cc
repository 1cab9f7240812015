#include "kafka/protocol/codec.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "kafka/protocol/api_versions.h"
#include "kafka/protocol/errc.h"
#include "kafka/protocol/frame.h"
#include "random_message.h"
#include "test_bytes.h"

namespace substrate::kafka {
namespace {

using testing::from_hex;
using testing::to_hex;

// Encodes, decodes and re-encodes; the decoded message must equal the original (less the fields
// that do not exist in this version) and the second encoding must equal the first byte for byte.
void expect_round_trip(api_key key, message_kind kind, std::int16_t version, const message& m) {
  auto encoded = encode(key, kind, version, m);
  ASSERT_TRUE(encoded) << encoded.error().message();
  auto decoded = decode(key, kind, version, *encoded);
  ASSERT_TRUE(decoded) << decoded.error().message() << "\n" << to_hex(*encoded);
  message expected = m;
  testing::restrict_to_version(expected, version);
  EXPECT_TRUE(*decoded == expected) << m.desc().name << " v" << version;
  auto again = encode(key, kind, version, *decoded);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(to_hex(*again), to_hex(*encoded));
}

TEST(kafka_codec, random_round_trip_of_every_api_version_and_kind) {
  testing::random_filler filler(42);
  int cases = 0;
  for (const api_schema* api : all_schemas()) {
    for (std::int16_t v = api->version_min; v <= api->version_max; ++v) {
      for (auto kind : {message_kind::request, message_kind::response}) {
        for (int round = 0; round < 20; ++round) {
          SCOPED_TRACE(std::string(api->name) + (kind == message_kind::request ? " request v" : " response v") +
                       std::to_string(v));
          message m(api->body(kind));
          filler.fill(m, v);
          expect_round_trip(api->key, kind, v, m);
          ++cases;
        }
      }
    }
  }
  EXPECT_GT(cases, 2000);
}

TEST(kafka_codec, every_truncation_of_random_messages_is_an_error) {
  testing::random_filler filler(7);
  for (const api_schema* api : all_schemas()) {
    for (std::int16_t v = api->version_min; v <= api->version_max; ++v) {
      for (auto kind : {message_kind::request, message_kind::response}) {
        message m(api->body(kind));
        filler.fill(m, v);
        auto encoded = encode(api->key, kind, v, m);
        ASSERT_TRUE(encoded);
        for (std::size_t n = 0; n < encoded->size(); ++n) {
          auto decoded = decode(api->key, kind, v, std::span(*encoded).first(n));
          EXPECT_FALSE(decoded) << api->name << " v" << v << " cut at " << n;
        }
        bytes longer = *encoded;
        longer.push_back(0);
        auto trailing = decode(api->key, kind, v, longer);
        ASSERT_FALSE(trailing);
        EXPECT_EQ(trailing.error().code, make_error_code(errc::trailing_bytes));
      }
    }
  }
}

TEST(kafka_codec, api_versions_v0_and_v3_responses) {
  for (std::int16_t v : {0, 3}) {
    message m = make_message(api_key::api_versions, message_kind::response);
    for (const auto& row : supported_api_versions()) {
      message& entry = m.append("api_keys");
      entry.i16("api_key") = static_cast<std::int16_t>(row.key);
      entry.i16("min_version") = row.min_version;
      entry.i16("max_version") = row.max_version;
    }
    if (v >= 1) m.i32("throttle_time_ms") = 0;
    expect_round_trip(api_key::api_versions, message_kind::response, v, m);
    auto encoded = encode(api_key::api_versions, message_kind::response, v, m);
    // 20 keys of 6 bytes; v0: error + int32 count; v3: error + compact count + 20 tag bytes +
    // throttle + body tags.
    EXPECT_EQ(encoded->size(), v == 0 ? 2u + 4 + 20 * 6 : 2u + 1 + 20 * 7 + 4 + 1);
  }
  message request = make_message(api_key::api_versions, message_kind::request);
  request.str("client_software_name") = "librdkafka";
  request.str("client_software_version") = "2.0.2";
  expect_round_trip(api_key::api_versions, message_kind::request, 3, request);
  // v0 has no body at all: the v3-only fields are not written.
  EXPECT_TRUE(encode(api_key::api_versions, message_kind::request, 0, request)->empty());
}

message metadata_request(bool all_topics) {
  message m = make_message(api_key::metadata, message_kind::request);
  if (all_topics) {
    m.set_null("topics", true);
  } else {
    m.append("topics").nullable_str("name") = "events";
  }
  m.boolean("allow_auto_topic_creation") = false;
  return m;
}

TEST(kafka_codec, metadata_v1_and_v9_onwards) {
  for (std::int16_t v : {1, 4, 6, 9, 10, 12}) {
    SCOPED_TRACE(v);
    expect_round_trip(api_key::metadata, message_kind::request, v, metadata_request(false));
    expect_round_trip(api_key::metadata, message_kind::request, v, metadata_request(true));
  }
  // v9 is flexible: compact array of one topic, compact name, topic tags, then the bools and the
  // body tags.
  auto v9 = encode(api_key::metadata, message_kind::request, 9, metadata_request(false));
  EXPECT_EQ(to_hex(*v9), "02 07 65 76 65 6e 74 73 00 00 00 00 00");

  message response = make_message(api_key::metadata, message_kind::response);
  message& broker = response.append("brokers");
  broker.i32("node_id") = 1;
  broker.str("host") = "127.0.0.1";
  broker.i32("port") = 9092;
  response.nullable_str("cluster_id") = "substrate";
  response.i32("controller_id") = 1;
  message& topic = response.append("topics");
  topic.nullable_str("name") = "events";
  message& partition = topic.append("partitions");
  partition.i32("leader_id") = 1;
  partition.values("replica_nodes").push_back(std::int32_t{1});
  partition.values("isr_nodes").push_back(std::int32_t{1});
  for (std::int16_t v : {1, 5, 9, 12}) expect_round_trip(api_key::metadata, message_kind::response, v, response);
}

TEST(kafka_codec, metadata_null_topics_need_v1) {
  // v0 has no null topic list; the encoder refuses rather than writing something else.
  auto v0 = encode(api_key::metadata, message_kind::request, 0, metadata_request(true));
  ASSERT_FALSE(v0);
  EXPECT_EQ(v0.error().code, make_error_code(errc::null_not_allowed));
  EXPECT_NE(v0.error().context.find("MetadataRequest.topics"), std::string::npos) << v0.error().context;
  // And the decoder refuses a null in v0.
  auto decoded = decode(api_key::metadata, message_kind::request, 0, from_hex("ff ff ff ff"));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, make_error_code(errc::null_not_allowed));
  EXPECT_TRUE(decode(api_key::metadata, message_kind::request, 1, from_hex("ff ff ff ff")));
}

message produce_request() {
  message m = make_message(api_key::produce, message_kind::request);
  m.i16("acks") = -1;
  m.i32("timeout_ms") = 30000;
  message& topic = m.append("topic_data");
  topic.str("name") = "events";
  message& partition = topic.append("partition_data");
  partition.i32("index") = 0;
  partition.batches("records").data = bytes{0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad};
  return m;
}

TEST(kafka_codec, produce_v3_v7_v9) {
  for (std::int16_t v : {3, 7, 9}) expect_round_trip(api_key::produce, message_kind::request, v, produce_request());
  message response = make_message(api_key::produce, message_kind::response);
  message& topic = response.append("responses");
  topic.str("name") = "events";
  message& p = topic.append("partition_responses");
  p.i64("base_offset") = 41;
  p.i64("log_start_offset") = 0;
  for (std::int16_t v : {3, 7, 8, 9}) expect_round_trip(api_key::produce, message_kind::response, v, response);
  // Throttle time comes last in Produce responses.
  response.i32("throttle_time_ms") = 0x01020304;
  auto v7 = encode(api_key::produce, message_kind::response, 7, response);
  ASSERT_GE(v7->size(), 4u);
  EXPECT_EQ(to_hex(std::span(*v7).last(4)), "01 02 03 04");
  // Records are carried untouched.
  auto decoded = decode(api_key::produce, message_kind::request, 7,
                        *encode(api_key::produce, message_kind::request, 7, produce_request()));
  EXPECT_EQ(decoded->array("topic_data")[0].array("partition_data")[0].batches("records").data,
            (bytes{0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad}));
}

TEST(kafka_codec, fetch_v4_v11_v12_with_tagged_fields) {
  message request = make_message(api_key::fetch, message_kind::request);
  request.i32("replica_id") = -1;
  request.i32("max_wait_ms") = 500;
  request.i32("min_bytes") = 1;
  request.i8("isolation_level") = 1;
  message& topic = request.append("topics");
  topic.str("topic") = "events";
  message& partition = topic.append("partitions");
  partition.i64("fetch_offset") = 10;
  partition.i32("partition_max_bytes") = 1048576;
  for (std::int16_t v : {4, 11, 12}) expect_round_trip(api_key::fetch, message_kind::request, v, request);
  request.nullable_str("cluster_id") = "cluster";
  expect_round_trip(api_key::fetch, message_kind::request, 12, request);

  message response = make_message(api_key::fetch, message_kind::response);
  message& t = response.append("responses");
  t.str("topic") = "events";
  message& p = t.append("partitions");
  p.i64("high_watermark") = 11;
  p.batches("records").data = bytes{};
  for (std::int16_t v : {4, 11, 12}) expect_round_trip(api_key::fetch, message_kind::response, v, response);
  auto without_tags = encode(api_key::fetch, message_kind::response, 12, response);
  // A tagged struct that differs from its default is written; one that does not, is not.
  p.child("current_leader").i32("leader_id") = 1;
  expect_round_trip(api_key::fetch, message_kind::response, 12, response);
  auto with_tags = encode(api_key::fetch, message_kind::response, 12, response);
  // tag 1, size 9: leader_id, leader_epoch, the struct's own empty tag buffer.
  EXPECT_EQ(with_tags->size(), without_tags->size() + 11);
  auto decoded = decode(api_key::fetch, message_kind::response, 12, *with_tags);
  EXPECT_EQ(decoded->array("responses")[0].array("partitions")[0].child("current_leader").i32("leader_id"), 1);
  // In v11 the tagged struct does not exist: it is neither written nor read back.
  auto v11 =
      decode(api_key::fetch, message_kind::response, 11, *encode(api_key::fetch, message_kind::response, 11, response));
  EXPECT_EQ(v11->array("responses")[0].array("partitions")[0].child("current_leader").i32("leader_id"), -1);
}

TEST(kafka_codec, group_and_admin_apis) {
  message join = make_message(api_key::join_group, message_kind::request);
  join.str("group_id") = "g";
  join.i32("session_timeout_ms") = 45000;
  join.i32("rebalance_timeout_ms") = 300000;
  join.str("protocol_type") = "consumer";
  join.append("protocols").str("name") = "range";
  join.array("protocols")[0].blob("metadata") = bytes{0, 1};
  join.nullable_str("group_instance_id") = "instance-1";
  expect_round_trip(api_key::join_group, message_kind::request, 5, join);
  message joined = make_message(api_key::join_group, message_kind::response);
  joined.i16("error_code") = 79;
  joined.str("member_id") = "m-1";
  expect_round_trip(api_key::join_group, message_kind::response, 5, joined);

  message sync = make_message(api_key::sync_group, message_kind::request);
  sync.str("group_id") = "g";
  sync.i32("generation_id") = 1;
  sync.str("member_id") = "m-1";
  message& assignment = sync.append("assignments");
  assignment.str("member_id") = "m-1";
  assignment.blob("assignment") = bytes{0, 0, 0, 1};
  expect_round_trip(api_key::sync_group, message_kind::request, 3, sync);

  message create = make_message(api_key::create_topics, message_kind::request);
  message& topic = create.append("topics");
  topic.str("name") = "events";
  topic.i32("num_partitions") = 3;
  topic.i16("replication_factor") = -1;
  message& config = topic.append("configs");
  config.str("name") = "cleanup.policy";
  config.nullable_str("value") = "compact";
  expect_round_trip(api_key::create_topics, message_kind::request, 5, create);
  message created = make_message(api_key::create_topics, message_kind::response);
  message& result = created.append("topics");
  result.str("name") = "events";
  result.i16("topic_config_error_code") = 40;  // tagged in v5
  result.set_null("configs", true);
  expect_round_trip(api_key::create_topics, message_kind::response, 5, created);

  message init = make_message(api_key::init_producer_id, message_kind::request);
  init.i32("transaction_timeout_ms") = 60000;
  // Kafka's generated default for a string without a "default" is "", even when nullable.
  EXPECT_EQ(init.nullable_str("transactional_id"), "");
  init.nullable_str("transactional_id") = std::nullopt;
  expect_round_trip(api_key::init_producer_id, message_kind::request, 1, init);
  expect_round_trip(api_key::init_producer_id, message_kind::request, 4, init);

  message handshake = make_message(api_key::sasl_handshake, message_kind::request);
  handshake.str("mechanism") = "SCRAM-SHA-256";
  expect_round_trip(api_key::sasl_handshake, message_kind::request, 1, handshake);
  message mechanisms = make_message(api_key::sasl_handshake, message_kind::response);
  mechanisms.values("mechanisms").push_back(std::string("PLAIN"));
  mechanisms.values("mechanisms").push_back(std::string("SCRAM-SHA-256"));
  expect_round_trip(api_key::sasl_handshake, message_kind::response, 1, mechanisms);
}

TEST(kafka_codec, defaults_follow_the_descriptions) {
  message fetch = make_message(api_key::fetch, message_kind::request);
  EXPECT_EQ(fetch.i32("max_bytes"), 0x7fffffff);
  EXPECT_EQ(fetch.i32("session_epoch"), -1);
  EXPECT_FALSE(fetch.nullable_str("cluster_id").has_value());
  message metadata = make_message(api_key::metadata, message_kind::request);
  EXPECT_TRUE(metadata.boolean("allow_auto_topic_creation"));
  message create = make_message(api_key::create_topics, message_kind::request);
  EXPECT_EQ(create.i32("timeout_ms"), 60000);
  // A field absent from the decoded version holds its default.
  auto decoded =
      decode(api_key::fetch, message_kind::request, 4, *encode(api_key::fetch, message_kind::request, 4, fetch));
  EXPECT_EQ(decoded->i32("session_epoch"), -1);
  EXPECT_EQ(decoded->str("rack_id"), "");
}

TEST(kafka_codec, unknown_tagged_fields_are_preserved) {
  // Heartbeat v4 request: group "g", generation 1, member "m", null instance, then a tag
  // buffer holding unknown tags 7 and 9.
  const bytes body = from_hex("02 67 00 00 00 01 02 6d 00 02 07 01 aa 09 00");
  auto decoded = decode(api_key::heartbeat, message_kind::request, 4, body);
  ASSERT_TRUE(decoded) << decoded.error().message();
  ASSERT_EQ(decoded->unknown_tags().size(), 2u);
  EXPECT_EQ(decoded->unknown_tags()[0], (tagged_field{7, {0xaa}}));
  EXPECT_EQ(to_hex(*encode(api_key::heartbeat, message_kind::request, 4, *decoded)), to_hex(body));
  // Descending tags are rejected.
  auto bad =
      decode(api_key::heartbeat, message_kind::request, 4, from_hex("02 67 00 00 00 01 02 6d 00 02 09 00 07 00"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, make_error_code(errc::invalid_tagged_fields));
}

TEST(kafka_codec, known_tag_with_a_bad_payload_is_an_error) {
  // Fetch v12 request with tag 0 (cluster_id) whose payload has a trailing byte.
  message m = make_message(api_key::fetch, message_kind::request);
  const bytes valid = *encode(api_key::fetch, message_kind::request, 12, m);
  ASSERT_EQ(valid.back(), 0);
  bytes body(valid.begin(), valid.end() - 1);
  const bytes tags = from_hex("01 00 03 02 63 ff");  // one tag: 0, size 3: "c" and one extra byte
  body.insert(body.end(), tags.begin(), tags.end());
  auto decoded = decode(api_key::fetch, message_kind::request, 12, body);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, make_error_code(errc::invalid_tagged_fields));
  // Without the extra byte it decodes into the field.
  body.pop_back();
  body[body.size() - 3] = 2;
  auto ok = decode(api_key::fetch, message_kind::request, 12, body);
  ASSERT_TRUE(ok) << ok.error().message() << " " << to_hex(body);
  EXPECT_EQ(ok->nullable_str("cluster_id"), "c");
}

TEST(kafka_codec, hostile_array_counts_do_not_allocate) {
  // Metadata v1 request claiming 2^31-1 topics in 4 bytes.
  auto huge = decode(api_key::metadata, message_kind::request, 1, from_hex("7f ff ff ff 00 00 00 00"));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, make_error_code(errc::truncated));
  // Compact: 2^32-2 brokers.
  auto compact = decode(api_key::metadata, message_kind::response, 9, from_hex("00 00 00 00 ff ff ff ff 0f"));
  ASSERT_FALSE(compact);
  // A negative count other than -1.
  auto negative = decode(api_key::metadata, message_kind::request, 1, from_hex("ff ff ff fe"));
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, make_error_code(errc::invalid_length));
}

TEST(kafka_codec, unknown_keys_and_versions) {
  message m = make_message(api_key::heartbeat, message_kind::request);
  auto v9 = encode(api_key::heartbeat, message_kind::request, 9, m);
  ASSERT_FALSE(v9);
  EXPECT_EQ(v9.error().code, make_error_code(errc::unsupported_version));
  auto key = decode(static_cast<api_key>(57), message_kind::request, 0, bytes{});
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, make_error_code(errc::unknown_api_key));
  // A heartbeat is not a sync-group request.
  auto wrong = encode(api_key::sync_group, message_kind::request, 0, m);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, make_error_code(errc::schema_mismatch));
}

TEST(kafka_codec, wrongly_typed_values_are_refused_by_the_encoder) {
  message m = make_message(api_key::heartbeat, message_kind::request);
  m.get("generation_id") = std::int64_t{1};
  auto encoded = encode(api_key::heartbeat, message_kind::request, 0, m);
  ASSERT_FALSE(encoded);
  EXPECT_EQ(encoded.error().code, make_error_code(errc::schema_mismatch));
  EXPECT_NE(encoded.error().context.find("HeartbeatRequest.generation_id"), std::string::npos);
}

TEST(kafka_codec, missing_names_are_clear_errors) {
  message m = make_message(api_key::produce, message_kind::request);
  auto index = m.find("timeout");
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, make_error_code(errc::unknown_field));
  EXPECT_EQ(index.error().context,
            "ProduceRequest has no field 'timeout'; its fields are: transactional_id, acks, timeout_ms, topic_data");
  EXPECT_EQ(*m.find("acks"), 1u);
}

TEST(kafka_codec_death, accessors_assert_on_missing_names_and_wrong_types) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  message m = make_message(api_key::produce, message_kind::request);
  EXPECT_DEATH((void)m.i32("timeout"), "ProduceRequest has no field 'timeout'");
  EXPECT_DEATH((void)m.i32("acks"), "ProduceRequest.acks is a int16, not a int32");
}

// The committed fuzz seed corpus (fuzz/kafka_request/corpus/) must hold one valid request frame
// per described (api, version), so the fuzzer starts from every body shape. Setting
// KAFKA_CORPUS_WRITE=1 regenerates those frames (one random request each) before checking, e.g.
// after describing a new API or version.
TEST(kafka_codec, seed_corpus_has_a_valid_frame_for_every_described_version) {
  const std::filesystem::path dir = SUBSTRATE_KAFKA_CORPUS_DIR;
  if (const char* write = std::getenv("KAFKA_CORPUS_WRITE"); write && std::string(write) == "1") {
    testing::random_filler filler(2026);
    for (const api_schema* api : all_schemas()) {
      for (std::int16_t v = api->version_min; v <= api->version_max; ++v) {
        message m(*api->request);
        filler.fill(m, v);
        auto frame = encode_request({api->key, v, 1, "rdkafka"}, m);
        ASSERT_TRUE(frame);
        std::ofstream(dir / (std::string(api->name) + "_v" + std::to_string(v) + ".bin"), std::ios::binary)
            .write(reinterpret_cast<const char*>(frame->data()), static_cast<std::streamsize>(frame->size()));
      }
    }
  }
  for (const api_schema* api : all_schemas()) {
    for (std::int16_t v = api->version_min; v <= api->version_max; ++v) {
      const auto path = dir / (std::string(api->name) + "_v" + std::to_string(v) + ".bin");
      std::ifstream in(path, std::ios::binary);
      ASSERT_TRUE(in) << path << " is missing; regenerate with KAFKA_CORPUS_WRITE=1";
      const bytes frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto split = next_frame(frame);
      ASSERT_TRUE(split && *split && (*split)->consumed_bytes == frame.size()) << path;
      auto parsed = parse_request((*split)->body);
      ASSERT_TRUE(parsed) << path << ": " << parsed.error().message();
      EXPECT_EQ(parsed->header.key, api->key) << path;
      EXPECT_EQ(parsed->header.api_version, v) << path;
      auto body = decode(api->key, message_kind::request, v, parsed->body);
      EXPECT_TRUE(body) << path << ": " << body.error().message();
    }
  }
}

}  // namespace
}  // namespace substrate::kafka
