// Parsing Canonical Form, fingerprints and the registry's compact text.
#include "avro/canonical.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro_test_util.h"

namespace substrate::avro {
namespace {

using test::must_parse;

TEST(avro_canonical, primitives_fingerprints_match_the_specification_test_vectors) {
  // From the Avro project's schema-tests: CRC-64-AVRO of the canonical form of each primitive.
  struct {
    const char* name;
    std::int64_t fingerprint;
  } vectors[] = {
      {"null", 7195948357588979594LL},  {"boolean", -6970731678124411036LL}, {"int", 8247732601305521295LL},
      {"long", -3434872931120570953LL}, {"float", 5583340709985441680LL},    {"double", -8181574048448539266LL},
      {"bytes", 5746618253357095269LL}, {"string", -8142146995180207161LL},
  };
  for (const auto& v : vectors) {
    auto s = must_parse(fmt::format(R"({{"type": "{}"}})", v.name));
    EXPECT_EQ(parsing_canonical_form(s), fmt::format("\"{}\"", v.name));
    EXPECT_EQ(static_cast<std::int64_t>(fingerprint64(s)), v.fingerprint) << v.name;
  }
}

TEST(avro_canonical, parsing_canonical_form_example) {
  auto s = must_parse(R"({"doc": "d", "fields": [
      {"type": {"type": "fixed", "size": 2, "name": "H", "aliases": ["x"]}, "name": "h", "default": "ab"},
      {"name": "again", "type": "H"},
      {"name": "e", "type": {"type": "enum", "name": "other.E", "symbols": ["A"], "default": "A"}},
      {"name": "u", "type": ["null", {"type": "string", "logicalType": "uuid"}, {"type": "map", "values": "other.E"}]},
      {"name": "a", "type": {"type": "array", "items": "long", "custom": 1}}
    ], "namespace": "ns", "name": "R", "type": "record", "aliases": ["Old"]})");
  EXPECT_EQ(parsing_canonical_form(s), R"({"name":"ns.R","type":"record","fields":[)"
                                       R"({"name":"h","type":{"name":"ns.H","type":"fixed","size":2}},)"
                                       R"({"name":"again","type":"ns.H"},)"
                                       R"({"name":"e","type":{"name":"other.E","type":"enum","symbols":["A"]}},)"
                                       R"({"name":"u","type":["null","string",{"type":"map","values":"other.E"}]},)"
                                       R"({"name":"a","type":{"type":"array","items":"long"}}]})");
  // Equivalent schemas written differently have one canonical form and one fingerprint.
  auto same = must_parse(R"({"type": "record", "name": "ns.R", "fields": [
      {"name": "h", "type": {"type": "fixed", "name": "H", "size": 2}}, {"name": "again", "type": "ns.H"},
      {"name": "e", "type": {"type": "enum", "name": "E", "namespace": "other", "symbols": ["A"]}},
      {"name": "u", "type": ["null", "string", {"type": "map", "values": "other.E"}]},
      {"name": "a", "type": {"type": "array", "items": {"type": "long"}}}]})");
  EXPECT_EQ(parsing_canonical_form(same), parsing_canonical_form(s));
  EXPECT_EQ(fingerprint64(same), fingerprint64(s));
  EXPECT_EQ(fingerprint_sha256(same), fingerprint_sha256(s));
  EXPECT_NE(fingerprint64(must_parse("\"int\"")), fingerprint64(s));
}

TEST(avro_canonical, sha256_of_the_canonical_form) {
  auto digest = fingerprint_sha256(must_parse("\"int\""));
  EXPECT_EQ(test::to_hex({reinterpret_cast<const char*>(digest.data()), digest.size()}),
            "3f2b87a9fe7cc9b13835598c3981cd45e3e355309e5090aa0933d7becb6fba45");  // sha256 of "int" with quotes
}

TEST(avro_canonical, compact_json_keeps_everything_and_is_stable) {
  const char* text = R"({"type": "record", "name": "R", "namespace": "ns", "doc": "a record", "aliases": ["ns.Old"],
      "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "the id"},
        {"name": "n", "type": ["null", "long"], "default": null, "order": "descending", "aliases": ["count"]},
        {"name": "h", "type": {"type": "fixed", "name": "H", "size": 2}, "default": "ab"},
        {"name": "h2", "type": "H"},
        {"name": "e", "type": {"type": "enum", "name": "x.E", "symbols": ["A", "B"], "default": "B"}},
        {"name": "t", "type": {"type": "record", "name": "Top", "namespace": "", "fields": []}},
        {"name": "m", "type": {"type": "map", "values": "string"}, "default": {"k": "v"}}
      ], "owner": "team"})";
  auto s = must_parse(text);
  std::string compact = compact_json(s);
  EXPECT_EQ(compact,
            R"({"type":"record","name":"R","namespace":"ns","doc":"a record","fields":[)"
            R"({"name":"id","type":{"type":"string","logicalType":"uuid"},"doc":"the id"},)"
            R"({"name":"n","type":["null","long"],"default":null,"order":"descending","aliases":["count"]},)"
            R"({"name":"h","type":{"type":"fixed","name":"H","size":2},"default":"ab"},)"
            R"({"name":"h2","type":"H"},)"
            R"({"name":"e","type":{"type":"enum","name":"E","namespace":"x","symbols":["A","B"],"default":"B"}},)"
            R"({"name":"t","type":{"type":"record","name":"Top","namespace":"","fields":[]}},)"
            R"({"name":"m","type":{"type":"map","values":"string"},"default":{"k":"v"}}],)"
            R"("aliases":["Old"],"owner":"team"})");
  // Parsing the compact text gives the same schema and the same text again.
  auto again = must_parse(compact);
  EXPECT_EQ(compact_json(again), compact);
  EXPECT_EQ(parsing_canonical_form(again), parsing_canonical_form(s));
  EXPECT_EQ(compact_json(must_parse(R"({"type": "int"})")), "\"int\"");
}

}  // namespace
}  // namespace substrate::avro
