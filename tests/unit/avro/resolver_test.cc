// Writer -> reader schema resolution: one test per rule of the specification.
#include "avro/resolver.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/errc.h"
#include "avro_test_util.h"

namespace substrate::avro {
namespace {

using test::encode_hex;
using test::shared;

// Encodes `json` with the writer schema and reads it back as JSON shaped by the reader.
std::string resolve(std::string_view writer, std::string_view reader, std::string_view json,
                    union_style unions = union_style::nullable_plain) {
  auto w = shared(writer);
  auto r = shared(reader);
  auto res = resolver::create(w, r);
  if (!res) return fmt::format("!{}", res.error().message());
  auto bytes = test::from_hex(encode_hex(*w, json));
  std::string out;
  decode_options options;
  options.unions = unions;
  auto ok = res->decode_json(bytes, out, options);
  return ok ? out : fmt::format("!{}", ok.error().message());
}

std::string record(std::string_view name, std::string_view fields) {
  return fmt::format(R"({{"type": "record", "name": "{}", "fields": [{}]}})", name, fields);
}

TEST(avro_resolve, identical_schemas) {
  auto s = record("R", R"({"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"]})");
  EXPECT_EQ(resolve(s, s, R"({"a": 1, "b": "x"})"), R"({"a":1,"b":"x"})");
}

TEST(avro_resolve, numeric_promotions) {
  EXPECT_EQ(resolve("\"int\"", "\"long\"", "-5"), "-5");
  EXPECT_EQ(resolve("\"int\"", "\"float\"", "3"), "3");
  EXPECT_EQ(resolve("\"int\"", "\"double\"", "2147483647"), "2147483647");
  EXPECT_EQ(resolve("\"long\"", "\"float\"", "16777217"), "16777216") << "a float holds 24 bits";
  EXPECT_EQ(resolve("\"long\"", "\"double\"", "9007199254740993"), "9007199254740992");
  EXPECT_EQ(resolve("\"float\"", "\"double\"", "0.5"), "0.5");
}

TEST(avro_resolve, string_and_bytes_promote_both_ways) {
  EXPECT_EQ(resolve("\"string\"", "\"bytes\"", "\"ab\""), "\"ab\"");
  EXPECT_EQ(resolve("\"bytes\"", "\"string\"", "\"ab\""), "\"ab\"");
}

TEST(avro_resolve, no_demotions_or_other_kinds) {
  EXPECT_EQ(resolve("\"long\"", "\"int\"", "1").substr(0, 21), "!incompatible schemas");
  EXPECT_EQ(resolve("\"double\"", "\"float\"", "1").substr(0, 21), "!incompatible schemas");
  EXPECT_EQ(resolve("\"string\"", "\"int\"", "\"1\"").substr(0, 21), "!incompatible schemas");
  EXPECT_EQ(resolve(record("R", ""), "\"string\"", "{}").substr(0, 21), "!incompatible schemas");
}

TEST(avro_resolve, reader_fields_missing_in_the_writer_take_their_defaults) {
  auto writer = record("R", R"({"name": "a", "type": "int"})");
  auto reader = record("R", R"({"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "dflt"},
                               {"name": "c", "type": ["null", "long"], "default": null},
                               {"name": "d", "type": {"type": "array", "items": "int"}, "default": [1, 2]})");
  EXPECT_EQ(resolve(writer, reader, R"({"a": 7})"), R"({"a":7,"b":"dflt","c":null,"d":[1,2]})");
  auto no_default = record("R", R"({"name": "a", "type": "int"}, {"name": "b", "type": "string"})");
  EXPECT_EQ(resolve(writer, no_default, R"({"a": 7})"),
            "!incompatible schemas: $.b: reader field b has no default and writer record R has no such field");
}

TEST(avro_resolve, writer_fields_missing_in_the_reader_are_skipped) {
  auto writer = record(
      "R", R"({"name": "skip1", "type": {"type": "map", "values": ["null", {"type": "array", "items": "double"}]}},
                               {"name": "a", "type": "int"},
                               {"name": "skip2", "type": {"type": "record", "name": "In", "fields": [{"name": "s", "type": "string"},
                                 {"name": "f", "type": {"type": "fixed", "name": "F", "size": 3}},
                                 {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
                                 {"name": "b", "type": "boolean"}, {"name": "fl", "type": "float"}, {"name": "by", "type": "bytes"}]}})");
  auto reader = record("R", R"({"name": "a", "type": "long"})");
  EXPECT_EQ(
      resolve(
          writer, reader,
          R"({"skip1": {"k": [1.5, 2], "n": null}, "a": 42, "skip2": {"s": "x", "f": "abc", "e": "Y", "b": true, "fl": 1, "by": "z"}})"),
      R"({"a":42})");
}

TEST(avro_resolve, fields_reordered_and_renamed_through_reader_aliases) {
  auto writer = record("R", R"({"name": "a", "type": "int"}, {"name": "old_name", "type": "string"})");
  auto reader =
      record("R", R"({"name": "new_name", "type": "string", "aliases": ["old_name"]}, {"name": "a", "type": "long"})");
  EXPECT_EQ(resolve(writer, reader, R"({"a": 1, "old_name": "x"})"), R"({"new_name":"x","a":1})");
}

TEST(avro_resolve, record_names_match_unqualified_or_by_reader_alias) {
  auto writer = R"({"type": "record", "name": "one.R", "fields": [{"name": "a", "type": "int"}]})";
  EXPECT_EQ(resolve(writer, R"({"type": "record", "name": "two.R", "fields": [{"name": "a", "type": "int"}]})",
                    R"({"a": 1})"),
            R"({"a":1})");
  EXPECT_EQ(
      resolve(writer,
              R"({"type": "record", "name": "S", "aliases": ["one.R"], "fields": [{"name": "a", "type": "int"}]})",
              R"({"a": 1})"),
      R"({"a":1})");
  EXPECT_EQ(
      resolve(writer, R"({"type": "record", "name": "S", "fields": [{"name": "a", "type": "int"}]})", R"({"a": 1})"),
      "!incompatible schemas: $: reader record S does not match writer record one.R");
}

TEST(avro_resolve, enums_by_symbol_name_and_the_reader_default) {
  auto writer = R"({"type": "enum", "name": "E", "symbols": ["A", "B", "C"]})";
  EXPECT_EQ(resolve(writer, R"({"type": "enum", "name": "E", "symbols": ["C", "B", "A"]})", "\"A\""), "\"A\"");
  EXPECT_EQ(
      resolve(writer, R"({"type": "enum", "name": "E", "symbols": ["A", "B", "OTHER"], "default": "OTHER"})", "\"C\""),
      "\"OTHER\"");
  EXPECT_EQ(resolve(writer, R"({"type": "enum", "name": "E", "symbols": ["A", "B"]})", "\"A\""),
            "!incompatible schemas: $: reader enum E lacks writer symbols [C] and has no default");
}

TEST(avro_resolve, fixed_needs_the_same_name_and_size) {
  EXPECT_EQ(
      resolve(R"({"type": "fixed", "name": "F", "size": 2})", R"({"type": "fixed", "name": "F", "size": 2})", "\"ab\""),
      "\"ab\"");
  EXPECT_EQ(
      resolve(R"({"type": "fixed", "name": "F", "size": 2})", R"({"type": "fixed", "name": "F", "size": 3})", "\"ab\""),
      "!incompatible schemas: $: reader fixed F has size 3, writer size 2");
  EXPECT_EQ(
      resolve(R"({"type": "fixed", "name": "F", "size": 2})", R"({"type": "fixed", "name": "G", "size": 2})", "\"ab\""),
      "!incompatible schemas: $: reader fixed G does not match writer fixed F");
}

TEST(avro_resolve, arrays_and_maps_resolve_their_items) {
  EXPECT_EQ(resolve(R"({"type": "array", "items": "int"})", R"({"type": "array", "items": "double"})", "[1, 2]"),
            "[1,2]");
  EXPECT_EQ(resolve(R"({"type": "map", "values": "int"})", R"({"type": "map", "values": "long"})", R"({"a": 1})"),
            R"({"a":1})");
  EXPECT_EQ(resolve(R"({"type": "array", "items": "long"})", R"({"type": "array", "items": "int"})", "[1]"),
            "!incompatible schemas: $[]: reader type int cannot read writer type long");
}

TEST(avro_resolve, writer_union_branch_by_branch) {
  // Reader not a union: every writer branch must resolve to it; the data picks one.
  EXPECT_EQ(resolve(R"(["int", "long"])", "\"double\"", R"({"long": 5})"), "5");
  EXPECT_EQ(resolve(R"(["null", "int"])", "\"int\"", "3"), "3");
  EXPECT_EQ(resolve(R"(["null", "int"])", "\"int\"", "null"),
            "!incompatible schemas: at byte 1: writer union branch null cannot be read as reader int");
  EXPECT_EQ(resolve(R"(["null", "string"])", "\"int\"", "null"),
            "!incompatible schemas: $: no branch of writer union [null, string] can be read as reader int");
  // Reader a union too: each writer branch finds its reader branch.
  EXPECT_EQ(resolve(R"(["null", "int"])", R"(["string", "long", "null"])", "7", union_style::tagged), R"({"long":7})");
  EXPECT_EQ(resolve(R"(["null", "int"])", R"(["string", "long", "null"])", "null"), "null");
}

TEST(avro_resolve, reader_union_takes_the_first_matching_branch) {
  // The same type first, even when an earlier branch could take the value by promotion.
  EXPECT_EQ(resolve("\"int\"", R"(["null", "double", "int"])", "4", union_style::tagged), R"({"int":4})");
  // Otherwise the first branch it promotes to.
  EXPECT_EQ(resolve("\"int\"", R"(["null", "string", "double", "long"])", "4", union_style::tagged), R"({"double":4})");
  auto rec = R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})";
  EXPECT_EQ(resolve(rec, R"(["null", {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}])",
                    R"({"a": 1})"),
            R"({"a":1})");
  EXPECT_EQ(resolve("\"boolean\"", R"(["null", "int"])", "true"),
            "!incompatible schemas: $: reader union [null, int] has no branch that reads writer boolean");
}

TEST(avro_resolve, nested_and_recursive_records) {
  auto writer = R"({"type": "record", "name": "Node", "fields": [{"name": "v", "type": "int"},
                    {"name": "next", "type": ["null", "Node"]}, {"name": "gone", "type": "string"}]})";
  auto reader = R"({"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]},
                    {"name": "v", "type": "long"}, {"name": "added", "type": "boolean", "default": false}]})";
  EXPECT_EQ(resolve(writer, reader, R"({"v": 1, "next": {"v": 2, "next": null, "gone": "y"}, "gone": "x"})"),
            R"({"next":{"next":null,"v":2,"added":false},"v":1,"added":false})");
}

TEST(avro_resolve, transcode_produces_reader_bytes_and_rejects_bad_data) {
  auto w = shared(record("R", R"({"name": "a", "type": "int"}, {"name": "b", "type": "string"})"));
  auto r = shared(record("R", R"({"name": "b", "type": "bytes"}, {"name": "a", "type": "long"})"));
  auto res = resolver::create(w, r);
  ASSERT_TRUE(res);
  auto bytes = test::from_hex(encode_hex(*w, R"({"a": 1, "b": "x"})"));
  std::string out;
  ASSERT_TRUE(res->transcode(bytes, out));
  EXPECT_EQ(test::to_hex(out), encode_hex(*r, R"({"a": 1, "b": "x"})"));
  bytes.pop_back();
  out.clear();
  auto truncated = res->transcode(bytes, out);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, errc::truncated);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace substrate::avro
