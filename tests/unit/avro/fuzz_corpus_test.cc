// The seed corpora of fuzz/avro_binary and fuzz/avro_json: every file passes the fuzzers'
// invariant checks, and every seed that is not named hostile_* is a valid input (it decodes,
// respectively encodes). Regenerate the sample seeds with AVRO_CORPUS_WRITE=1.
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fuzz/avro_fuzz.h"

namespace substrate::avro {
namespace {

namespace fs = std::filesystem;
const fs::path root = SUBSTRATE_SOURCE_DIR;

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, std::uint8_t index, std::string_view body) {
  std::ofstream out(p, std::ios::binary);
  out.put(static_cast<char>(index));
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
}

// One binary and one JSON seed per sample record of every schema in the set.
void write_corpora() {
  auto files = fuzz::schema_set_files(root);
  auto schemas = fuzz::load_schema_set(root);
  ASSERT_EQ(files.size(), schemas.size());
  json_encoder encoder;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto topic = fs::relative(files[i], root / "schemas").replace_extension("").string();
    std::replace(topic.begin(), topic.end(), '/', '.');
    auto samples_file = root / "tests/data/avro/samples" / (topic + ".json");
    if (files[i].filename() == "all_types.avsc") {
      topic = "all_types";
      samples_file = root / "tests/data/avro/all_types.samples.json";
    }
    simdjson::dom::parser parser;
    simdjson::dom::array samples;
    ASSERT_FALSE(parser.load(samples_file.string()).get(samples)) << samples_file;
    std::size_t n = 0;
    for (auto sample : samples) {
      auto json = simdjson::minify(sample);
      std::string bytes;
      ASSERT_TRUE(encoder.encode(*schemas[i], json, bytes)) << json;
      write_bytes(root / "fuzz/avro_binary/corpus" / fmt::format("{}_{}.bin", topic, n), static_cast<std::uint8_t>(i),
                  bytes);
      write_bytes(root / "fuzz/avro_json/corpus" / fmt::format("{}_{}.json", topic, n), static_cast<std::uint8_t>(i),
                  json);
      ++n;
    }
  }
}

void replay(const char* target, bool binary) {
  auto schemas = fuzz::load_schema_set(root);
  ASSERT_EQ(schemas.size(), fuzz::schema_set_files(root).size()) << "every schema of the set parses";
  std::size_t count = 0;
  for (const auto& e : fs::directory_iterator(root / "fuzz" / target / "corpus")) {
    SCOPED_TRACE(e.path().string());
    auto input = read_bytes(e.path());
    auto problem = binary ? fuzz::check_binary_input(schemas, input) : fuzz::check_json_input(schemas, input);
    EXPECT_EQ(problem, "");
    ++count;
    if (e.path().filename().string().starts_with("hostile_") || input.empty()) continue;
    const auto& s = *schemas[input[0] % schemas.size()];
    auto body = std::span(input).subspan(1);
    std::string out;
    if (binary) {
      auto r = decode_json(s, body, out);
      EXPECT_TRUE(r) << r.error().message();
    } else {
      json_encoder encoder;
      auto r = encoder.encode(s, {reinterpret_cast<const char*>(body.data()), body.size()}, out);
      EXPECT_TRUE(r) << r.error().message();
    }
  }
  EXPECT_GE(count, schemas.size()) << "at least one seed per schema";
}

TEST(avro_fuzz_corpus, binary_seeds_decode_and_keep_the_invariants) {
  if (const char* w = std::getenv("AVRO_CORPUS_WRITE"); w && std::string(w) == "1") write_corpora();
  replay("avro_binary", true);
}

TEST(avro_fuzz_corpus, json_seeds_encode_and_keep_the_invariants) {
  replay("avro_json", false);
}

}  // namespace
}  // namespace substrate::avro
