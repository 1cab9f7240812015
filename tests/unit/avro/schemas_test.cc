// Every file in schemas/ parses, names its topic's record, and its sample records encode, decode
// back to the same JSON and frame; the files stay compatible with themselves.
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/canonical.h"
#include "avro/compatibility.h"
#include "avro/confluent.h"
#include "avro_test_util.h"

namespace substrate::avro {
namespace {

namespace fs = std::filesystem;

const fs::path root = SUBSTRATE_SOURCE_DIR;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// schemas/public/user/message.events.avsc -> public.user.message.events
std::string topic_of(const fs::path& file) {
  auto rel = fs::relative(file, root / "schemas").replace_extension("").string();
  std::replace(rel.begin(), rel.end(), '/', '.');
  return rel;
}

std::vector<fs::path> schema_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root / "schemas")) {
    if (e.path().extension() == ".avsc") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(avro_schemas, every_topic_of_the_catalogue_has_a_schema) {
  auto files = schema_files();
  EXPECT_EQ(files.size(), 26u);
  std::set<std::string> topics;
  for (const auto& f : files) topics.insert(topic_of(f));
  for (const char* t :
       {"public.identity.login.events", "public.user.message.events", "internal.platform.unified.events",
        "internal.identity.login.echo", "internal.media.upload.dead-letter", "public.media.upload.events"}) {
    EXPECT_TRUE(topics.contains(t)) << t;
  }
}

TEST(avro_schemas, each_parses_and_its_samples_round_trip) {
  json_encoder encoder;
  for (const auto& file : schema_files()) {
    SCOPED_TRACE(file.string());
    auto s = schema::parse(read(file));
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->root_node().type, kind::record);
    EXPECT_TRUE(s->root_node().doc) << "every record says what it is";
    // The registry's text reparses to the same schema.
    auto compact = compact_json(*s);
    auto again = schema::parse(compact);
    ASSERT_TRUE(again);
    EXPECT_EQ(compact_json(*again), compact);
    EXPECT_TRUE(
        check_compatibility(compatibility_level::full_transitive, *again, std::vector<const schema*>{&*s}).empty());

    auto samples_file = root / "tests/data/avro/samples" / (topic_of(file) + ".json");
    ASSERT_TRUE(fs::exists(samples_file)) << samples_file;
    simdjson::dom::parser parser;
    simdjson::dom::array samples;
    ASSERT_FALSE(parser.load(samples_file.string()).get(samples));
    for (auto sample : samples) {
      auto json = simdjson::minify(sample);
      std::string framed;
      append_confluent_header(framed, 7);
      ASSERT_TRUE(encoder.encode(*s, json, framed)) << json;
      auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(framed.data()), framed.size());
      auto frame = parse_confluent_frame(bytes);
      ASSERT_TRUE(frame);
      EXPECT_EQ(frame->schema_id, 7);
      std::string decoded;
      ASSERT_TRUE(decode_json(*s, frame->body, decoded));
      EXPECT_EQ(decoded, json) << "the sample is in schema order with every field";
    }
  }
}

TEST(avro_schemas, the_gateway_json_of_the_web_client_encodes) {
  // contracts.md 7.3: what the web client posts to /api/v1/events/message.
  auto s = test::must_parse(read(root / "schemas/public/user/message.events.avsc"));
  EXPECT_EQ(test::encode_hex(s, R"({"user_id": "6f1c1c4e-8a43-4f0e-9a55-0d7a1e0f6a11", "email": "a@example.com",
      "message": "hi", "timestamp": "2026-02-26T10:00:00.123Z", "visibility": "broadcast", "recipient_id": null})")
                .substr(0, 2),
            "48");
  EXPECT_EQ(test::encode_hex(s, R"({"user_id": "6f1c1c4e-8a43-4f0e-9a55-0d7a1e0f6a11", "email": "a@example.com",
      "message": "hi", "timestamp": "t", "visibility": ""})"),
            "!invalid value: $.visibility: expected enum public.user.message.Visibility (one of broadcast, direct), "
            "got string \"\"");
}

}  // namespace
}  // namespace substrate::avro
