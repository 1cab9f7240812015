// The registry's compatibility levels, computed from the resolution rules (kafka-compat.md 7.8).
#include "avro/compatibility.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro_test_util.h"

namespace substrate::avro {
namespace {

using test::must_parse;

schema version(std::string_view fields) {
  return must_parse(fmt::format(R"({{"type": "record", "name": "User", "namespace": "app", "fields": [{}]}})", fields));
}

bool compatible(compatibility_level level, const schema& candidate, std::vector<const schema*> existing) {
  return check_compatibility(level, candidate, existing).empty();
}

const char* base = R"({"name": "id", "type": "string"})";

TEST(avro_compatibility, levels_parse_and_print) {
  EXPECT_EQ(parse_compatibility_level("backward"), compatibility_level::backward);
  EXPECT_EQ(parse_compatibility_level("FULL_TRANSITIVE"), compatibility_level::full_transitive);
  EXPECT_EQ(parse_compatibility_level("Forward_Transitive"), compatibility_level::forward_transitive);
  EXPECT_EQ(parse_compatibility_level("NONE"), compatibility_level::none);
  EXPECT_FALSE(parse_compatibility_level("SIDEWAYS"));
  EXPECT_EQ(compatibility_level_name(compatibility_level::backward_transitive), "BACKWARD_TRANSITIVE");
}

TEST(avro_compatibility, backward_allows_new_fields_with_defaults_and_removed_fields) {
  auto v1 = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "int"})"));
  auto added_with_default = version(fmt::format("{}, {}, {}", base, R"({"name": "age", "type": "int"})",
                                                R"({"name": "email", "type": ["null", "string"], "default": null})"));
  auto added_without_default = version(
      fmt::format("{}, {}, {}", base, R"({"name": "age", "type": "int"})", R"({"name": "email", "type": "string"})"));
  auto removed = version(base);
  auto promoted = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "long"})"));
  auto changed = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "string"})"));
  EXPECT_TRUE(compatible(compatibility_level::backward, added_with_default, {&v1}));
  EXPECT_FALSE(compatible(compatibility_level::backward, added_without_default, {&v1}));
  EXPECT_TRUE(compatible(compatibility_level::backward, removed, {&v1}));
  EXPECT_TRUE(compatible(compatibility_level::backward, promoted, {&v1}));
  EXPECT_FALSE(compatible(compatibility_level::backward, changed, {&v1}));
  auto problems =
      check_compatibility(compatibility_level::backward, added_without_default, std::vector<const schema*>{&v1});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "$.email");
  EXPECT_EQ(
      problems[0].message,
      "the new schema cannot read data written with version 1: reader field email has no default and writer record "
      "app.User has no such field");
}

TEST(avro_compatibility, forward_is_backward_the_other_way_round) {
  auto v1 = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "int"})"));
  auto added_without_default = version(
      fmt::format("{}, {}, {}", base, R"({"name": "age", "type": "int"})", R"({"name": "email", "type": "string"})"));
  auto removed_required = version(base);
  auto demoted = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "long"})"));
  EXPECT_TRUE(compatible(compatibility_level::forward, added_without_default, {&v1})) << "old readers ignore it";
  EXPECT_FALSE(compatible(compatibility_level::forward, removed_required, {&v1})) << "old readers need age";
  EXPECT_FALSE(compatible(compatibility_level::forward, demoted, {&v1})) << "an int reader cannot read longs";
  auto problems = check_compatibility(compatibility_level::forward, removed_required, std::vector<const schema*>{&v1});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message,
            "version 1 cannot read data written with the new schema: reader field age has no default and writer record "
            "app.User has no such field");
}

TEST(avro_compatibility, full_needs_both_directions) {
  auto v1 = version(base);
  auto optional_added =
      version(fmt::format("{}, {}", base, R"({"name": "email", "type": ["null", "string"], "default": null})"));
  auto required_added = version(fmt::format("{}, {}", base, R"({"name": "email", "type": "string"})"));
  EXPECT_TRUE(compatible(compatibility_level::full, optional_added, {&v1}));
  EXPECT_FALSE(compatible(compatibility_level::full, required_added, {&v1}));
  EXPECT_TRUE(compatible(compatibility_level::forward, required_added, {&v1}));
}

TEST(avro_compatibility, transitive_levels_check_every_version) {
  // v1 -> v2 drops a field; v3 adds it back without a default: v3 reads v2 data only if... it
  // cannot (no default), so take a case where v3 is compatible with v2 but not with v1.
  auto v1 = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "string"})"));
  auto v2 = version(base);
  auto v3 = version(fmt::format("{}, {}", base, R"({"name": "age", "type": "int", "default": 0})"));
  EXPECT_TRUE(compatible(compatibility_level::backward, v3, {&v1, &v2})) << "only the latest";
  EXPECT_FALSE(compatible(compatibility_level::backward_transitive, v3, {&v1, &v2})) << "v1 wrote strings as age";
  EXPECT_TRUE(compatible(compatibility_level::forward, v3, {&v1, &v2}));
  EXPECT_FALSE(compatible(compatibility_level::forward_transitive, v3, {&v1, &v2}));
  EXPECT_FALSE(compatible(compatibility_level::full_transitive, v3, {&v1, &v2}));
  EXPECT_TRUE(compatible(compatibility_level::full, v3, {&v1, &v2}));
  auto problems =
      check_compatibility(compatibility_level::backward_transitive, v3, std::vector<const schema*>{&v1, &v2});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "$.age");
  EXPECT_NE(problems[0].message.find("version 1"), std::string::npos);
}

TEST(avro_compatibility, none_and_first_versions_always_pass) {
  auto v1 = version(base);
  auto unrelated = must_parse("\"string\"");
  EXPECT_TRUE(compatible(compatibility_level::none, unrelated, {&v1}));
  EXPECT_TRUE(compatible(compatibility_level::full_transitive, unrelated, {}));
  EXPECT_FALSE(compatible(compatibility_level::backward, unrelated, {&v1}));
}

TEST(avro_compatibility, enums_unions_and_nested_paths) {
  auto e1 = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}}]})");
  auto e2 = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B", "C"]}}]})");
  EXPECT_TRUE(compatible(compatibility_level::backward, e2, {&e1})) << "a new symbol: new readers know the old ones";
  EXPECT_FALSE(compatible(compatibility_level::forward, e2, {&e1})) << "old readers do not know C";
  auto e2d = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"], "default": "A"}}]})");
  auto e3 = must_parse(
      R"({"type": "record", "name": "R", "fields": [{"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B", "C"], "default": "A"}}]})");
  EXPECT_TRUE(compatible(compatibility_level::forward, e3, {&e2d})) << "old readers with a default symbol";

  auto u1 = must_parse(R"({"type": "record", "name": "R", "fields": [{"name": "v", "type": ["null", "string"]}]})");
  auto u2 =
      must_parse(R"({"type": "record", "name": "R", "fields": [{"name": "v", "type": ["null", "string", "int"]}]})");
  EXPECT_TRUE(compatible(compatibility_level::backward, u2, {&u1})) << "a wider union reads the narrower";
  auto problems = check_compatibility(compatibility_level::forward, u2, std::vector<const schema*>{&u1});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "$.v");
  EXPECT_NE(problems[0].message.find("reader union [null, string] has no branch that reads writer int"),
            std::string::npos);

  auto n1 =
      must_parse(R"({"type": "record", "name": "R", "fields": [{"name": "items", "type": {"type": "array", "items":
      {"type": "record", "name": "I", "fields": [{"name": "tags", "type": {"type": "map", "values": "long"}}]}}}]})");
  auto n2 =
      must_parse(R"({"type": "record", "name": "R", "fields": [{"name": "items", "type": {"type": "array", "items":
      {"type": "record", "name": "I", "fields": [{"name": "tags", "type": {"type": "map", "values": "int"}}]}}}]})");
  problems = check_compatibility(compatibility_level::backward, n2, std::vector<const schema*>{&n1});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "$.items[].tags{}");
}

TEST(avro_compatibility, recursive_schemas_terminate) {
  auto list1 = must_parse(R"({"type": "record", "name": "L", "fields": [{"name": "next", "type": ["null", "L"]}]})");
  auto list2 = must_parse(R"({"type": "record", "name": "L", "fields": [{"name": "next", "type": ["null", "L"]},
      {"name": "v", "type": "int", "default": 0}]})");
  EXPECT_TRUE(compatible(compatibility_level::full_transitive, list2, {&list1}));
}

}  // namespace
}  // namespace substrate::avro
