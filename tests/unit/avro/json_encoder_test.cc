// JSON -> Avro: the bytes of every type, unions in both JSON forms, defaults, and the errors
// with their paths.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/errc.h"
#include "avro_test_util.h"

namespace substrate::avro {
namespace {

using test::encode_hex;
using test::must_parse;

TEST(avro_encode, primitives) {
  EXPECT_EQ(encode_hex(must_parse("\"null\""), "null"), "");
  EXPECT_EQ(encode_hex(must_parse("\"boolean\""), "true"), "01");
  EXPECT_EQ(encode_hex(must_parse("\"boolean\""), "false"), "00");
  auto i = must_parse("\"int\"");
  EXPECT_EQ(encode_hex(i, "0"), "00");
  EXPECT_EQ(encode_hex(i, "1"), "02");
  EXPECT_EQ(encode_hex(i, "-1"), "01");
  EXPECT_EQ(encode_hex(i, "-64"), "7f");
  EXPECT_EQ(encode_hex(i, "64"), "8001");
  EXPECT_EQ(encode_hex(i, "2147483647"), "feffffff0f");
  EXPECT_EQ(encode_hex(i, "-2147483648"), "ffffffff0f");
  EXPECT_EQ(encode_hex(i, "3.0"), "06") << "an integral double is an integer in JSON";
  auto l = must_parse("\"long\"");
  EXPECT_EQ(encode_hex(l, "9223372036854775807"), "feffffffffffffffff01");
  EXPECT_EQ(encode_hex(l, "-9223372036854775808"), "ffffffffffffffffff01");
  EXPECT_EQ(encode_hex(l, "1e3"), "d00f");
  EXPECT_EQ(encode_hex(must_parse("\"float\""), "1.5"), "0000c03f");
  EXPECT_EQ(encode_hex(must_parse("\"float\""), "2"), "00000040");
  EXPECT_EQ(encode_hex(must_parse("\"double\""), "1.5"), "000000000000f83f");
  EXPECT_EQ(encode_hex(must_parse("\"double\""), "\"NaN\""), "000000000000f87f");
  EXPECT_EQ(encode_hex(must_parse("\"double\""), "\"-Infinity\""), "000000000000f0ff");
  EXPECT_EQ(encode_hex(must_parse("\"string\""), "\"foo\""), "06666f6f");
  EXPECT_EQ(encode_hex(must_parse("\"string\""), "\"\\u00e9\""), "04c3a9") << "strings are UTF-8";
  EXPECT_EQ(encode_hex(must_parse("\"bytes\""), "\"\\u00ff\\u0000A\""), "06ff0041") << "one byte per code point";
}

TEST(avro_encode, specification_record_example) {
  auto s = must_parse(R"({"type": "record", "name": "test", "fields": [
      {"name": "a", "type": "long"}, {"name": "b", "type": "string"}]})");
  EXPECT_EQ(encode_hex(s, R"({"a": 27, "b": "foo"})"), "3606666f6f");
  EXPECT_EQ(encode_hex(s, R"({"b": "foo", "a": 27})"), "3606666f6f") << "fields by name, in any order";
  EXPECT_EQ(encode_hex(s, R"({"a": 27, "b": "foo", "extra": [1, {"x": null}]})"), "3606666f6f")
      << "unknown keys ignored";
  EXPECT_EQ(encode_hex(s, R"({"a": 1, "b": "x", "a": 27})"), "360278") << "a repeated key: the last wins";
}

// Keys in runs of schema order (the gateway's client fields, then the token's identity), with
// a repeat and an unknown key between runs: every field lands in its place.
TEST(avro_encode, record_keys_in_runs_of_schema_order) {
  auto s = must_parse(R"({"type": "record", "name": "r", "fields": [
      {"name": "a", "type": "int"}, {"name": "b", "type": "int"}, {"name": "c", "type": "int"},
      {"name": "d", "type": "int"}]})");
  const std::string expected = "02040608";  // a=1 b=2 c=3 d=4
  EXPECT_EQ(encode_hex(s, R"({"c": 3, "d": 4, "a": 1, "b": 2})"), expected);
  EXPECT_EQ(encode_hex(s, R"({"c": 3, "d": 4, "x": 0, "a": 1, "b": 2})"), expected);
  EXPECT_EQ(encode_hex(s, R"({"b": 2, "c": 3, "d": 4, "a": 1})"), expected);
  EXPECT_EQ(encode_hex(s, R"({"d": 4, "c": 3, "b": 2, "a": 1})"), expected);
  EXPECT_EQ(encode_hex(s, R"({"a": 9, "b": 2, "c": 3, "d": 4, "a": 1})"), expected) << "the last a wins";
}

TEST(avro_encode, complex_types) {
  auto e = must_parse(R"({"type": "enum", "name": "E", "symbols": ["A", "B"]})");
  EXPECT_EQ(encode_hex(e, "\"B\""), "02");
  auto f = must_parse(R"({"type": "fixed", "name": "F", "size": 2})");
  EXPECT_EQ(encode_hex(f, "\"ab\""), "6162");
  auto a = must_parse(R"({"type": "array", "items": "int"})");
  EXPECT_EQ(encode_hex(a, "[1, 2]"), "04020400");
  EXPECT_EQ(encode_hex(a, "[]"), "00");
  auto m = must_parse(R"({"type": "map", "values": "int"})");
  EXPECT_EQ(encode_hex(m, R"({"a": 1})"), "0202610200");
  EXPECT_EQ(encode_hex(m, "{}"), "00");
}

TEST(avro_encode, unions_accept_the_tagged_and_the_plain_form) {
  auto s = must_parse(R"(["null", "string"])");
  EXPECT_EQ(encode_hex(s, "null"), "00");
  EXPECT_EQ(encode_hex(s, "\"a\""), "020261");
  EXPECT_EQ(encode_hex(s, R"({"string": "a"})"), "020261");
  auto multi = must_parse(
      R"(["null", "int", "double", {"type": "record", "name": "a.R", "fields": [{"name": "x", "type": "int"}]},
                              {"type": "map", "values": "int"}])");
  EXPECT_EQ(encode_hex(multi, "5"), "020a") << "the first branch that takes an integer";
  EXPECT_EQ(encode_hex(multi, "1.5"), "04000000000000f83f") << "int refuses 1.5, double takes it";
  EXPECT_EQ(encode_hex(multi, R"({"double": 5})"), "040000000000001440");
  EXPECT_EQ(encode_hex(multi, R"({"a.R": {"x": 1}})"), "0602");
  EXPECT_EQ(encode_hex(multi, R"({"x": 1})"), "0602") << "plain object: the record branch first";
  EXPECT_EQ(encode_hex(multi, R"({"map": {"k": 1}})"), "0802026b0200");
  EXPECT_EQ(encode_hex(multi, R"({"y": "z"})"),
            "!type mismatch: $: expected union [null, int, double, a.R, map], got object");
}

TEST(avro_encode, missing_fields_take_their_default) {
  auto s = must_parse(R"({"type": "record", "name": "R", "fields": [
      {"name": "a", "type": "string"},
      {"name": "b", "type": ["null", "string"], "default": null},
      {"name": "c", "type": "int", "default": 7},
      {"name": "d", "type": {"type": "enum", "name": "V", "symbols": ["broadcast", "direct"]}, "default": "broadcast"},
      {"name": "e", "type": {"type": "array", "items": "int"}, "default": [1]}]})");
  EXPECT_EQ(encode_hex(s, R"({"a": "x"})"), "0278000e00020200");
  EXPECT_EQ(encode_hex(s, R"({"a": "x", "b": null, "c": 1, "d": "direct", "e": []})"), "027800020200");
}

TEST(avro_encode, errors_name_the_path_the_expected_type_and_what_was_got) {
  auto s = must_parse(R"({"type": "record", "name": "Envelope", "fields": [
      {"name": "payload", "type": {"type": "record", "name": "Payload", "fields": [
          {"name": "user_id", "type": {"type": "string", "logicalType": "uuid"}},
          {"name": "tags", "type": {"type": "array", "items": "string"}},
          {"name": "counts", "type": {"type": "map", "values": "int"}},
          {"name": "maybe", "type": ["null", "long"], "default": null}]}}]})");
  const char* ok_user = "\"6f1c1c4e-8a43-4f0e-9a55-0d7a1e0f6a11\"";
  auto payload = [&](std::string_view fields) { return fmt::format(R"({{"payload": {{{}}}}})", fields); };
  auto with_user = [&](std::string_view fields) {
    return payload(fmt::format(R"("user_id": {}, {})", ok_user, fields));
  };
  EXPECT_EQ(encode_hex(s, payload(R"("user_id": 42, "tags": [], "counts": {})")),
            "!type mismatch: $.payload.user_id: expected string (uuid), got number 42");
  EXPECT_EQ(encode_hex(s, payload(R"("user_id": "abc", "tags": [], "counts": {})")),
            "!invalid value: $.payload.user_id: expected string (uuid), got string \"abc\" (not a UUID)");
  EXPECT_EQ(encode_hex(s, with_user(R"("tags": ["a", 1], "counts": {})")),
            "!type mismatch: $.payload.tags[1]: expected string, got number 1");
  EXPECT_EQ(encode_hex(s, with_user(R"("tags": [], "counts": {"k": true})")),
            "!type mismatch: $.payload.counts[\"k\"]: expected int, got true");
  EXPECT_EQ(encode_hex(s, with_user(R"("counts": {})")),
            "!missing field: $.payload.tags: missing required field of type array of string (it has no default)");
  EXPECT_EQ(encode_hex(s, with_user(R"("tags": [], "counts": {}, "maybe": "x")")),
            "!type mismatch: $.payload.maybe: expected union [null, long], got string \"x\"");
  EXPECT_EQ(encode_hex(s, with_user(R"("tags": [], "counts": {}, "maybe": 1.5)")),
            "!type mismatch: $.payload.maybe: expected long, got number 1.5 (not an integer)");
  EXPECT_EQ(encode_hex(s, "[]"), "!type mismatch: $: expected record Envelope (an object), got array");
}

TEST(avro_encode, range_and_value_errors) {
  EXPECT_EQ(encode_hex(must_parse("\"int\""), "2147483648"),
            "!number out of range: $: expected int, got number 2147483648 (out of range)");
  EXPECT_EQ(encode_hex(must_parse("\"long\""), "9223372036854775808"),
            "!number out of range: $: expected long, got number 9223372036854775808 (out of range)");
  EXPECT_EQ(encode_hex(must_parse("\"long\""), "1e19"),
            "!number out of range: $: expected long, got number 1e+19 (out of range)");
  EXPECT_EQ(encode_hex(must_parse("\"float\""), "1e39"),
            "!number out of range: $: expected float, got number 1e+39 (out of range)");
  EXPECT_EQ(encode_hex(must_parse("\"int\""), "\"1\""), "!type mismatch: $: expected int, got string \"1\"");
  EXPECT_EQ(encode_hex(must_parse(R"({"type": "enum", "name": "E", "symbols": ["A", "B"]})"), "\"C\""),
            "!invalid value: $: expected enum E (one of A, B), got string \"C\"");
  EXPECT_EQ(encode_hex(must_parse(R"({"type": "fixed", "name": "F", "size": 2})"), "\"abc\""),
            "!invalid value: $: expected fixed F (2 bytes as a string), got 3 bytes");
  EXPECT_EQ(
      encode_hex(must_parse("\"bytes\""), "\"\\u0100\""),
      "!invalid value: $: expected bytes (a string of code points U+0000..U+00FF), got a code point above U+00FF");
  EXPECT_EQ(encode_hex(must_parse("\"null\""), "0"), "!type mismatch: $: expected null, got number 0");
  EXPECT_EQ(test::encode_result(must_parse("\"string\""), "{\"a\"").error().code, errc::invalid_json);
}

TEST(avro_encode, invalid_json_and_limits) {
  auto s = must_parse("\"string\"");
  auto r = test::encode_result(s, "\"\xff\"");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_json) << "JSON must be UTF-8";
  EXPECT_EQ(test::encode_result(s, "").error().code, errc::invalid_json);
  encode_options small;
  small.json_bytes_max = 4;
  EXPECT_EQ(encode_hex(s, "\"hello\"", small), "!invalid JSON: JSON document of 7 bytes exceeds the limit of 4");
  auto tree = must_parse(R"({"type": "record", "name": "T", "fields": [{"name": "c", "type": ["null", "T"]}]})");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"c": )";
  deep += "null";
  for (int i = 0; i < 100; ++i) deep += "}";
  auto deep_result = test::encode_result(tree, deep);
  ASSERT_FALSE(deep_result);
  EXPECT_EQ(deep_result.error().code, errc::too_deep);
}

TEST(avro_encode, unknown_fields_can_be_rejected) {
  auto s = must_parse(R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})");
  encode_options strict;
  strict.unknown = unknown_fields::reject;
  EXPECT_EQ(encode_hex(s, R"({"a": 1, "b": 2})", strict), "!invalid value: $: record R has no field \"b\"");
  EXPECT_EQ(encode_hex(s, R"({"a": 1})", strict), "02");
}

TEST(avro_encode, failed_encode_leaves_the_output_as_it_was) {
  auto s = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}]})");
  json_encoder encoder;
  std::string out = "prefix";
  EXPECT_FALSE(encoder.encode(s, R"({"a": 1, "b": "x"})", out));
  EXPECT_EQ(out, "prefix");
  EXPECT_TRUE(encoder.encode(s, R"({"a": 1, "b": 2})", out));
  EXPECT_EQ(out, "prefix\x02\x04");
}

}  // namespace
}  // namespace substrate::avro
