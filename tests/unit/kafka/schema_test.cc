// Checks the descriptions themselves: what the codec relies on (tags only in flexible versions,
// unique names and tags, nested descriptions present) and that the advertisement and flexible
// thresholds are exactly those of the spec (sections 2.3 and 1.6).
#include "kafka/protocol/schema.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "kafka/protocol/api_versions.h"

namespace substrate::kafka {
namespace {

void check_struct(const api_schema& api, const struct_desc& s, std::set<const struct_desc*>& seen) {
  if (!seen.insert(&s).second) return;
  std::set<std::string_view> names;
  std::set<std::int32_t> tags;
  for (const auto& f : s.fields) {
    SCOPED_TRACE(std::string(api.name) + " " + std::string(s.name) + "." + std::string(f.name));
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate field name";
    EXPECT_LE(f.version_min, f.version_max);
    for (char c : f.name) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (f.tagged()) {
      EXPECT_TRUE(tags.insert(f.tag).second) << "duplicate tag";
      EXPECT_GE(f.version_min, api.flexible_from) << "tagged field outside flexible versions";
    }
    const bool needs_nested = f.type == field_type::structure || f.is_struct_array();
    EXPECT_EQ(needs_nested, f.nested != nullptr);
    if (f.nested != nullptr) check_struct(api, *f.nested, seen);
  }
}

TEST(kafka_schema, descriptions_are_consistent) {
  for (const api_schema* api : all_schemas()) {
    SCOPED_TRACE(std::string(api->name));
    EXPECT_LE(api->version_min, api->advertised_min);
    EXPECT_LE(api->advertised_min, api->advertised_max);
    EXPECT_LE(api->advertised_max, api->version_max);
    EXPECT_EQ(find_schema(api->key), api);
    std::set<const struct_desc*> seen;
    check_struct(*api, *api->request, seen);
    check_struct(*api, *api->response, seen);
  }
}

// Spec 2.3 with one deviation: Produce from v0, not v3 (librdkafka 2.0.2 compresses gzip, snappy
// and lz4 only when Produce v0 is advertised; see schemas/produce.cc).
TEST(kafka_schema, advertisement_matches_spec_2_3) {
  struct row {
    api_key key;
    std::int16_t min, max;
  };
  const row expected[] = {
      {api_key::produce, 0, 7},          {api_key::fetch, 4, 11},
      {api_key::list_offsets, 1, 3},     {api_key::metadata, 1, 6},
      {api_key::offset_commit, 2, 7},    {api_key::offset_fetch, 1, 7},
      {api_key::find_coordinator, 0, 2}, {api_key::join_group, 0, 5},
      {api_key::heartbeat, 0, 3},        {api_key::leave_group, 0, 3},
      {api_key::sync_group, 0, 3},       {api_key::describe_groups, 0, 2},
      {api_key::list_groups, 0, 2},      {api_key::sasl_handshake, 0, 1},
      {api_key::api_versions, 0, 3},     {api_key::create_topics, 0, 4},
      {api_key::delete_topics, 0, 1},    {api_key::init_producer_id, 0, 4},
      {api_key::describe_configs, 0, 2}, {api_key::sasl_authenticate, 0, 2},
  };
  const auto& table = supported_api_versions();
  ASSERT_EQ(table.size(), std::size(expected));
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].key, expected[i].key);
    EXPECT_EQ(table[i].min_version, expected[i].min) << static_cast<int>(expected[i].key);
    EXPECT_EQ(table[i].max_version, expected[i].max) << static_cast<int>(expected[i].key);
    EXPECT_TRUE(supported(expected[i].key, expected[i].min));
    EXPECT_TRUE(supported(expected[i].key, expected[i].max));
    EXPECT_FALSE(supported(expected[i].key, static_cast<std::int16_t>(expected[i].max + 1)));
    EXPECT_FALSE(supported(expected[i].key, static_cast<std::int16_t>(expected[i].min - 1)));
  }
  EXPECT_FALSE(supported(static_cast<api_key>(21), 0));  // DeleteRecords: not advertised
  EXPECT_FALSE(supported(static_cast<api_key>(-1), 0));
}

TEST(kafka_schema, flexible_thresholds_match_spec_1_6) {
  const std::pair<api_key, std::int16_t> expected[] = {
      {api_key::produce, 9},           {api_key::fetch, 12},           {api_key::list_offsets, 6},
      {api_key::metadata, 9},          {api_key::offset_commit, 8},    {api_key::offset_fetch, 6},
      {api_key::find_coordinator, 3},  {api_key::join_group, 6},       {api_key::heartbeat, 4},
      {api_key::leave_group, 4},       {api_key::sync_group, 4},       {api_key::describe_groups, 5},
      {api_key::list_groups, 3},       {api_key::api_versions, 3},     {api_key::create_topics, 5},
      {api_key::delete_topics, 4},     {api_key::init_producer_id, 2}, {api_key::describe_configs, 4},
      {api_key::sasl_authenticate, 2},
  };
  for (const auto& [key, from] : expected) {
    EXPECT_FALSE(flexible(key, static_cast<std::int16_t>(from - 1))) << static_cast<int>(key);
    EXPECT_TRUE(flexible(key, from)) << static_cast<int>(key);
    EXPECT_TRUE(flexible(key, 100)) << "versions past the description stay flexible";
  }
  EXPECT_FALSE(flexible(api_key::sasl_handshake, 1));
  EXPECT_FALSE(flexible(api_key::sasl_handshake, 100));
  for (const auto& row : supported_api_versions()) {
    if (row.key == api_key::sasl_handshake) {
      EXPECT_FALSE(row.flexible_from.has_value());
    } else {
      EXPECT_TRUE(row.flexible_from.has_value());
    }
  }
}

TEST(kafka_schema, decodable_extends_past_the_advertisement_where_described) {
  EXPECT_TRUE(decodable(api_key::metadata, 12));
  EXPECT_FALSE(decodable(api_key::metadata, 13));
  EXPECT_TRUE(decodable(api_key::produce, 9));
  EXPECT_TRUE(decodable(api_key::produce, 0));
  EXPECT_FALSE(decodable(api_key::produce, 10));
  EXPECT_TRUE(decodable(api_key::fetch, 12));
  EXPECT_TRUE(decodable(api_key::create_topics, 5));
  EXPECT_FALSE(decodable(static_cast<api_key>(21), 0));
}

}  // namespace
}  // namespace substrate::kafka
