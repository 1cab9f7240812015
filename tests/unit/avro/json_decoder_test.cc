// Avro -> JSON: every type, the union styles, round trips, and hostile bytes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/errc.h"
#include "avro_test_util.h"

namespace substrate::avro {
namespace {

using test::decode_hex;
using test::encode_hex;
using test::must_parse;

errc decode_error(const schema& s, std::string_view hex, decode_options options = {}) {
  auto bytes = test::from_hex(hex);
  auto r = test::decode_result(s, bytes, options);
  EXPECT_FALSE(r) << hex;
  return r ? errc{} : static_cast<errc>(r.error().code.value());
}

TEST(avro_decode, primitives) {
  EXPECT_EQ(decode_hex(must_parse("\"null\""), ""), "null");
  EXPECT_EQ(decode_hex(must_parse("\"boolean\""), "01"), "true");
  EXPECT_EQ(decode_hex(must_parse("\"int\""), "ffffffff0f"), "-2147483648");
  EXPECT_EQ(decode_hex(must_parse("\"long\""), "feffffffffffffffff01"), "9223372036854775807");
  EXPECT_EQ(decode_hex(must_parse("\"float\""), "0000c03f"), "1.5");
  EXPECT_EQ(decode_hex(must_parse("\"float\""), "cdcccc3d"), "0.10000000149011612") << "the float's exact double value";
  EXPECT_EQ(decode_hex(must_parse("\"double\""), "000000000000f83f"), "1.5");
  EXPECT_EQ(decode_hex(must_parse("\"double\""), "000000000000f87f"), "\"NaN\"");
  EXPECT_EQ(decode_hex(must_parse("\"double\""), "000000000000f07f"), "\"Infinity\"");
  EXPECT_EQ(decode_hex(must_parse("\"double\""), "0000000000000080"), "-0.0") << "keeps the sign when read back";
  EXPECT_EQ(decode_hex(must_parse("\"double\""), "8e1aaa58e2f0414"),
            "!truncated Avro data: at byte 0: data ends inside double");
  auto d = must_parse("\"double\"");
  EXPECT_EQ(decode_hex(d, encode_hex(d, "4.035677392204202e19")), "4.035677392204202e+19") << "not a 20-digit integer";
  EXPECT_EQ(decode_hex(d, encode_hex(d, "6.341068275337659e17")), "634106827533765888") << "fits an int64";
  EXPECT_EQ(encode_hex(must_parse("\"double\""), "-0.0"), "0000000000000080");
  EXPECT_EQ(decode_hex(must_parse("\"string\""), "06666f6f"), "\"foo\"");
  EXPECT_EQ(decode_hex(must_parse("\"string\""), "0c220a5c01c3a9"), R"("\"\n\\\u0001é")");
  EXPECT_EQ(decode_hex(must_parse("\"bytes\""), "06ff0041"), "\"\u00ff\\u0000A\"");
}

TEST(avro_decode, complex_types_and_union_styles) {
  EXPECT_EQ(decode_hex(must_parse(R"({"type": "enum", "name": "E", "symbols": ["A", "B"]})"), "02"), "\"B\"");
  EXPECT_EQ(decode_hex(must_parse(R"({"type": "fixed", "name": "F", "size": 2})"), "6162"), "\"ab\"");
  EXPECT_EQ(decode_hex(must_parse(R"({"type": "array", "items": "int"})"), "04020400"), "[1,2]");
  EXPECT_EQ(decode_hex(must_parse(R"({"type": "array", "items": "int"})"), "040204020600"), "[1,2,3]") << "two blocks";
  EXPECT_EQ(decode_hex(must_parse(R"({"type": "array", "items": "int"})"), "0304020400"), "[1,2]")
      << "a negative count is followed by the block's byte size";
  EXPECT_EQ(decode_hex(must_parse(R"({"type": "map", "values": "int"})"), "0202610200"), R"({"a":1})");
  auto rec = must_parse(
      R"({"type": "record", "name": "test", "fields": [{"name": "a", "type": "long"}, {"name": "b", "type": "string"}]})");
  EXPECT_EQ(decode_hex(rec, "3606666f6f"), R"({"a":27,"b":"foo"})");

  auto nullable = must_parse(R"(["null", "string"])");
  EXPECT_EQ(decode_hex(nullable, "00"), "null");
  EXPECT_EQ(decode_hex(nullable, "020261"), "\"a\"");
  decode_options tagged;
  tagged.unions = union_style::tagged;
  EXPECT_EQ(decode_hex(nullable, "020261", tagged), R"({"string":"a"})");
  EXPECT_EQ(decode_hex(nullable, "00", tagged), "null");
  auto multi = must_parse(R"(["int", "string", {"type": "enum", "name": "n.E", "symbols": ["X"]}])");
  EXPECT_EQ(decode_hex(multi, "0002"), R"({"int":1})") << "not a nullable union: tagged by default";
  EXPECT_EQ(decode_hex(multi, "0400"), R"({"n.E":"X"})");
  decode_options plain;
  plain.unions = union_style::plain;
  EXPECT_EQ(decode_hex(multi, "0002", plain), "1");
  EXPECT_EQ(decode_hex(multi, "020278", plain), "\"x\"");
}

TEST(avro_decode, round_trips_through_json) {
  auto s = must_parse(R"({"type": "record", "name": "R", "fields": [
      {"name": "n", "type": "null"}, {"name": "b", "type": "boolean"}, {"name": "i", "type": "int"},
      {"name": "l", "type": "long"}, {"name": "f", "type": "float"}, {"name": "d", "type": "double"},
      {"name": "by", "type": "bytes"}, {"name": "s", "type": "string"},
      {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
      {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 3}},
      {"name": "a", "type": {"type": "array", "items": ["null", "E"]}},
      {"name": "m", "type": {"type": "map", "values": {"type": "array", "items": "double"}}},
      {"name": "r", "type": {"type": "record", "name": "R2", "fields": [{"name": "x", "type": "long"}]}},
      {"name": "u", "type": ["null", "int", "string", "R2"]}]})");
  const char* values[] = {
      R"({"n":null,"b":true,"i":-7,"l":1234567890123,"f":0.5,"d":-2.5e-300,"by":"\u0000ÿ","s":"😀\t","e":"B","fx":"abc",)"
      R"("a":[null,"A"],"m":{"k":[1,2.5]},"r":{"x":0},"u":{"string":"x"}})",
      R"({"n":null,"b":false,"i":0,"l":0,"f":"NaN","d":"-Infinity","by":"","s":"","e":"A","fx":"\u0000\u0000\u0000",)"
      R"("a":[],"m":{},"r":{"x":9007199254740993},"u":{"R2":{"x":-1}}})",
  };
  decode_options tagged;
  tagged.unions = union_style::tagged;
  for (const char* v : values) {
    auto hex = encode_hex(s, v);
    ASSERT_NE(hex[0], '!') << hex;
    auto json = decode_hex(s, hex, tagged);
    EXPECT_EQ(encode_hex(s, json), hex) << json;
  }
}

TEST(avro_decode, truncated_data_is_an_error_everywhere) {
  auto s = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "double"},
      {"name": "c", "type": {"type": "array", "items": "long"}}]})");
  std::string hex = encode_hex(s, R"({"a": "hello", "b": 1.5, "c": [1, 300]})");
  for (std::size_t len = 0; len < hex.size(); len += 2) {
    EXPECT_EQ(decode_error(s, hex.substr(0, len)), errc::truncated) << "first " << len / 2 << " bytes";
  }
  EXPECT_EQ(decode_hex(s, hex), R"({"a":"hello","b":1.5,"c":[1,300]})");
  EXPECT_EQ(decode_error(s, hex + "00"), errc::trailing_bytes);
}

TEST(avro_decode, hostile_lengths_and_counts) {
  auto str = must_parse("\"string\"");
  EXPECT_EQ(decode_error(str, "01"), errc::invalid_binary) << "negative length";
  EXPECT_EQ(decode_error(str, "feffffffffffffffff01"), errc::truncated) << "a length far beyond the input";
  EXPECT_EQ(decode_error(str, "ffffffffffffffffffff01"), errc::invalid_binary) << "an 11-byte varint";
  EXPECT_EQ(decode_error(str, "ffffffffffffffffff7f"), errc::invalid_binary) << "a varint overflowing 64 bits";
  EXPECT_EQ(decode_error(str, "04c328"), errc::invalid_binary) << "not UTF-8";
  auto longs = must_parse(R"({"type": "array", "items": "long"})");
  EXPECT_EQ(decode_error(longs, "feffffffffffffffff01"), errc::truncated) << "2^62 items cannot fit in no bytes";
  EXPECT_EQ(decode_error(longs, "ffffffffffffffffff01"), errc::invalid_binary) << "the most negative count";
  EXPECT_EQ(decode_error(longs, "0301"), errc::invalid_binary) << "negative block size";
  auto nulls = must_parse(R"({"type": "array", "items": "null"})");
  EXPECT_EQ(decode_error(nulls, "feffffffffffffffff01"), errc::invalid_binary) << "zero-byte items are capped";
  EXPECT_EQ(decode_hex(nulls, "0600"), "[null,null,null]");
  decode_options tight;
  tight.zero_byte_items_max = 4;
  EXPECT_EQ(decode_error(nulls, "060600", tight), errc::invalid_binary) << "the cap counts across blocks";
  auto map = must_parse(R"({"type": "map", "values": "null"})");
  EXPECT_EQ(decode_error(map, "02"), errc::truncated);
  EXPECT_EQ(decode_error(must_parse("\"boolean\""), "02"), errc::invalid_binary);
  EXPECT_EQ(decode_error(must_parse("\"int\""), "8080808010"), errc::invalid_binary) << "an int above 2^31-1";
  EXPECT_EQ(decode_error(must_parse(R"({"type": "enum", "name": "E", "symbols": ["A"]})"), "02"), errc::invalid_binary);
  EXPECT_EQ(decode_error(must_parse(R"({"type": "enum", "name": "E", "symbols": ["A"]})"), "01"), errc::invalid_binary);
  EXPECT_EQ(decode_error(must_parse(R"(["null", "int"])"), "04"), errc::invalid_binary);
  EXPECT_EQ(decode_error(must_parse(R"(["null", "int"])"), "01"), errc::invalid_binary);
}

TEST(avro_decode, recursion_is_bounded) {
  auto list =
      must_parse(R"({"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]})");
  std::string hex;
  for (int i = 0; i < 1000; ++i) hex += "02";
  hex += "00";
  EXPECT_EQ(decode_error(list, hex), errc::too_deep);
  EXPECT_EQ(decode_hex(list, "020200"), R"({"next":{"next":{"next":null}}})");
}

TEST(avro_decode, failed_decode_leaves_the_output_as_it_was) {
  auto s = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]})");
  std::string out = "prefix";
  auto bytes = test::from_hex("0208");
  EXPECT_FALSE(decode_json(s, bytes, out));
  EXPECT_EQ(out, "prefix");
}

}  // namespace
}  // namespace substrate::avro
