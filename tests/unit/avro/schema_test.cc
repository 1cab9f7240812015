// Schema parsing: every type, names and namespaces, logical types, defaults, and the errors.
#include "avro/schema.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/errc.h"
#include "avro_test_util.h"

namespace substrate::avro {
namespace {

using test::must_parse;

errc parse_error(std::string_view text) {
  auto s = schema::parse(text);
  EXPECT_FALSE(s) << text;
  return s ? errc{} : static_cast<errc>(s.error().code.value());
}

TEST(avro_schema, primitives_by_name_and_as_objects) {
  const char* names[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};
  for (int i = 0; i < 8; ++i) {
    auto s = must_parse(fmt::format("\"{}\"", names[i]));
    EXPECT_EQ(s.root_node().type, static_cast<kind>(i));
    auto o = must_parse(fmt::format("{{\"type\": \"{}\"}}", names[i]));
    EXPECT_EQ(o.root_node().type, static_cast<kind>(i));
    EXPECT_EQ(kind_name(o.root_node().type), names[i]);
  }
}

TEST(avro_schema, record_with_fields_doc_order_aliases_and_properties) {
  auto s = must_parse(R"({"type": "record", "name": "R", "namespace": "a.b", "doc": "d", "aliases": ["Old", "x.Y"],
    "custom": {"k": [1, 2]},
    "fields": [{"name": "f", "type": "int", "doc": "fd", "order": "descending", "aliases": ["g"], "p": 1},
               {"name": "h", "type": "string", "default": "x"}]})");
  const node& r = s.root_node();
  EXPECT_EQ(r.type, kind::record);
  EXPECT_EQ(r.full_name, "a.b.R");
  EXPECT_EQ(r.name, "R");
  EXPECT_EQ(r.space, "a.b");
  EXPECT_EQ(r.doc, "d");
  EXPECT_EQ(r.aliases, (std::vector<std::string>{"a.b.Old", "x.Y"}));
  ASSERT_EQ(r.properties.size(), 1u);
  EXPECT_EQ(r.properties[0].json, R"({"k":[1,2]})");
  ASSERT_EQ(r.fields.size(), 2u);
  EXPECT_EQ(r.fields[0].order, field_order::descending);
  EXPECT_EQ(r.fields[0].aliases, std::vector<std::string>{"g"});
  EXPECT_EQ(r.fields[0].properties[0].name, "p");
  EXPECT_FALSE(r.fields[0].has_default);
  EXPECT_TRUE(r.fields[1].has_default);
  EXPECT_EQ(r.fields[1].default_json, "\"x\"");
  EXPECT_EQ(test::to_hex(r.fields[1].default_binary), "0278");
  EXPECT_EQ(r.field_index("h"), 1);
  EXPECT_EQ(r.field_index("nope"), -1);
}

TEST(avro_schema, error_is_a_record) {
  EXPECT_EQ(must_parse(R"({"type": "error", "name": "E", "fields": []})").root_node().type, kind::record);
}

TEST(avro_schema, enum_fixed_array_map_union) {
  auto e = must_parse(R"({"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "B"})");
  EXPECT_EQ(e.root_node().symbols, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(e.root_node().enum_default, 1);
  auto f = must_parse(R"({"type": "fixed", "name": "F", "size": 16})");
  EXPECT_EQ(f.root_node().size, 16u);
  EXPECT_EQ(f.root_node().min_bytes, 16u);
  auto a = must_parse(R"({"type": "array", "items": "long"})");
  EXPECT_EQ(a.at(a.root_node().items).type, kind::long_);
  auto m = must_parse(R"({"type": "map", "values": {"type": "array", "items": "int"}})");
  EXPECT_EQ(m.at(m.root_node().items).type, kind::array);
  auto u =
      must_parse(R"(["null", "string", {"type": "array", "items": "int"}, {"type": "fixed", "name": "F", "size": 1},
                          {"type": "fixed", "name": "G", "size": 1}])");
  EXPECT_EQ(u.root_node().type, kind::union_);
  EXPECT_EQ(u.root_node().branches.size(), 5u);
}

TEST(avro_schema, named_references_resolve_through_namespaces) {
  auto s = must_parse(R"({"type": "record", "name": "Outer", "namespace": "ns", "fields": [
      {"name": "a", "type": {"type": "fixed", "name": "Hash", "size": 2}},
      {"name": "b", "type": "Hash"},
      {"name": "c", "type": "ns.Hash"},
      {"name": "d", "type": {"type": "enum", "name": "other.E", "symbols": ["X"]}},
      {"name": "e", "type": "other.E"},
      {"name": "f", "type": {"type": "record", "name": "In", "namespace": "", "fields": []}},
      {"name": "g", "type": "In"}
  ]})");
  const node& r = s.root_node();
  EXPECT_EQ(r.fields[0].type, r.fields[1].type);
  EXPECT_EQ(r.fields[0].type, r.fields[2].type);
  EXPECT_EQ(s.at(r.fields[0].type).full_name, "ns.Hash");
  EXPECT_EQ(s.at(r.fields[3].type).full_name, "other.E");
  EXPECT_EQ(r.fields[3].type, r.fields[4].type);
  EXPECT_EQ(s.at(r.fields[5].type).full_name, "In");
  EXPECT_EQ(r.fields[5].type, r.fields[6].type);
  EXPECT_EQ(s.find("ns.Hash"), r.fields[0].type);
  EXPECT_EQ(s.branch_name(r.fields[0].type), "ns.Hash");
}

TEST(avro_schema, recursive_record) {
  auto s = must_parse(R"({"type": "record", "name": "Node", "fields": [
      {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"], "default": null}]})");
  const node& r = s.root_node();
  EXPECT_EQ(s.at(r.fields[1].type).branches[1], s.root());
  EXPECT_EQ(r.min_bytes, 2u);  // an int and a union index
}

TEST(avro_schema, logical_types) {
  struct {
    const char* schema;
    logical_type expected;
  } cases[] = {
      {R"({"type": "string", "logicalType": "uuid"})", logical_type::uuid},
      {R"({"type": "int", "logicalType": "date"})", logical_type::date},
      {R"({"type": "int", "logicalType": "time-millis"})", logical_type::time_millis},
      {R"({"type": "long", "logicalType": "time-micros"})", logical_type::time_micros},
      {R"({"type": "long", "logicalType": "timestamp-millis"})", logical_type::timestamp_millis},
      {R"({"type": "long", "logicalType": "timestamp-micros"})", logical_type::timestamp_micros},
      {R"({"type": "long", "logicalType": "local-timestamp-millis"})", logical_type::local_timestamp_millis},
      {R"({"type": "long", "logicalType": "local-timestamp-micros"})", logical_type::local_timestamp_micros},
      {R"({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2})", logical_type::decimal},
      {R"({"type": "fixed", "name": "D", "size": 4, "logicalType": "decimal", "precision": 9})", logical_type::decimal},
      {R"({"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"})", logical_type::duration},
      // Invalid ones are ignored (specification) and the type stays usable.
      {R"({"type": "int", "logicalType": "uuid"})", logical_type::none},
      {R"({"type": "string", "logicalType": "timestamp-millis"})", logical_type::none},
      {R"({"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3})", logical_type::none},
      {R"({"type": "fixed", "name": "D2", "size": 2, "logicalType": "decimal", "precision": 9})", logical_type::none},
      {R"({"type": "fixed", "name": "Dur2", "size": 8, "logicalType": "duration"})", logical_type::none},
      {R"({"type": "string", "logicalType": "no-such-type"})", logical_type::none},
  };
  for (const auto& c : cases) {
    auto s = must_parse(c.schema);
    EXPECT_EQ(s.root_node().logical, c.expected) << c.schema;
    EXPECT_FALSE(s.root_node().properties.empty()) << "the logicalType attribute is kept: " << c.schema;
  }
  auto d = must_parse(R"({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2})");
  EXPECT_EQ(d.root_node().precision, 9);
  EXPECT_EQ(d.root_node().scale, 2);
}

TEST(avro_schema, defaults_are_validated_against_their_type) {
  auto ok = [](const char* type, const char* value) {
    auto text = fmt::format(
        R"({{"type": "record", "name": "R", "fields": [{{"name": "f", "type": {}, "default": {}}}]}})", type, value);
    auto s = schema::parse(text);
    EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().message());
  };
  auto bad = [](const char* type, const char* value) {
    auto text = fmt::format(
        R"({{"type": "record", "name": "R", "fields": [{{"name": "f", "type": {}, "default": {}}}]}})", type, value);
    auto s = schema::parse(text);
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, errc::invalid_schema);
    EXPECT_NE(s.error().context.find("invalid default for field f"), std::string::npos) << s.error().context;
  };
  ok("\"null\"", "null");
  ok("\"boolean\"", "true");
  ok("\"int\"", "-5");
  ok("\"long\"", "9007199254740993");
  ok("\"float\"", "1.5");
  ok("\"double\"", "1");
  ok("\"bytes\"", "\"\\u00ff\"");
  ok("\"string\"", "\"\"");
  ok(R"({"type": "enum", "name": "E", "symbols": ["A"]})", "\"A\"");
  ok(R"({"type": "fixed", "name": "F", "size": 2})", "\"ab\"");
  ok(R"({"type": "array", "items": "int"})", "[1, 2]");
  ok(R"({"type": "map", "values": "int"})", R"({"a": 1})");
  ok(R"(["null", "string"])", "null");
  ok(R"(["string", "null"])", "\"x\"");
  ok(R"({"type": "record", "name": "In", "fields": [{"name": "x", "type": "int", "default": 3}]})", "{}");
  bad("\"int\"", "\"1\"");
  bad("\"int\"", "2147483648");
  bad("\"boolean\"", "null");
  bad(R"({"type": "enum", "name": "E", "symbols": ["A"]})", "\"B\"");
  bad(R"({"type": "fixed", "name": "F", "size": 2})", "\"abc\"");
  bad("\"bytes\"", "\"\\u0100\"");
  // A union default is a value of the first branch, never tagged (specification, "Unions").
  bad(R"(["null", "string"])", "\"x\"");
  bad(R"(["string", "null"])", "null");
  bad(R"(["null", "string"])", R"({"string": "x"})");
  bad(R"({"type": "record", "name": "In", "fields": [{"name": "x", "type": "int"}]})", "{}");
}

TEST(avro_schema, invalid_schemas_are_rejected_with_a_reason) {
  EXPECT_EQ(parse_error("not json"), errc::invalid_schema);
  EXPECT_EQ(parse_error("42"), errc::invalid_schema);
  EXPECT_EQ(parse_error("\"nosuchtype\""), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"name": "x"})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "fields": []})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "R"})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "1R", "fields": []})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "a..R", "fields": []})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "int", "fields": []})"), errc::invalid_schema);
  EXPECT_EQ(
      parse_error(
          R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]})"),
      errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "R", "fields": [{"name": "a-b", "type": "int"}]})"),
            errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "R", "fields": [{"name": "a"}]})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "order": "up"}]})"),
            errc::invalid_schema);
  EXPECT_EQ(parse_error(R"(["null", {"type": "record", "name": "R", "fields": []}, "R2"])"), errc::invalid_schema);
  EXPECT_EQ(
      parse_error(
          R"({"type": "record", "name": "R", "fields": [{"name": "a", "type": {"type": "fixed", "name": "R", "size": 1}}]})"),
      errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "enum", "name": "E", "symbols": ["A", "A"]})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "enum", "name": "E", "symbols": ["9"]})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "enum", "name": "E", "symbols": ["A"], "default": "B"})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "fixed", "name": "F", "size": -1})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "fixed", "name": "F"})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "array"})"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "map"})"), errc::invalid_schema);
  EXPECT_EQ(parse_error("[]"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"(["null", ["int"]])"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"(["int", "int"])"), errc::invalid_schema);
  EXPECT_EQ(parse_error(R"([{"type": "array", "items": "int"}, {"type": "array", "items": "long"}])"),
            errc::invalid_schema);
  EXPECT_EQ(parse_error(R"({"type": "record", "name": "R", "aliases": "x", "fields": []})"), errc::invalid_schema);
}

TEST(avro_schema, nesting_is_bounded) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"type": "array", "items": )";
  deep += "\"int\"";
  for (int i = 0; i < 200; ++i) deep += "}";
  EXPECT_EQ(parse_error(deep), errc::too_deep);
  parse_options generous;
  generous.depth_max = 500;
  EXPECT_TRUE(schema::parse(deep, generous));
}

}  // namespace
}  // namespace substrate::avro
