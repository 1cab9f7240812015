// Provisioning's plan and registration (schema/provision.h) on a memory_store.
#include "schema/provision.h"

#include <gtest/gtest.h>

#include "schema/memory_store.h"

namespace substrate::schema {
namespace {

TEST(provision, every_embedded_schema_parses_and_names_a_topic) {
  const auto& schemas = embedded_schemas();
  EXPECT_EQ(schemas.size(), 26u);
  for (const auto& s : schemas) {
    EXPECT_TRUE(avro::schema::parse(s.text)) << s.topic;
    EXPECT_EQ(s.topic.find('/'), std::string::npos);
  }
}

TEST(provision, topic_plan_applies_defaults_and_overrides) {
  const std::vector<embedded_schema> schemas = {{"a.events", "\"string\""}, {"b.events", "\"string\""}};
  auto plan = topic_plan(schemas, {2, "delete", {"b.events=6/compact"}});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].name, "a.events");
  EXPECT_EQ(plan[0].partitions, 2);
  EXPECT_EQ(plan[0].cleanup_policy, "delete");
  EXPECT_EQ(plan[1].partitions, 6);
  EXPECT_EQ(plan[1].cleanup_policy, "compact");
  EXPECT_EQ(topic_plan(schemas, {1, "delete", {"a.events=1/compact+delete"}})[0].cleanup_policy, "compact,delete");
  EXPECT_THROW((void)topic_plan(schemas, {1, "delete", {"c.events=3"}}), std::invalid_argument);
  EXPECT_THROW((void)topic_plan(schemas, {1, "delete", {"a.events=0"}}), std::invalid_argument);
  EXPECT_THROW((void)topic_plan(schemas, {1, "delete", {"a.events=x"}}), std::invalid_argument);
  EXPECT_THROW((void)topic_plan(schemas, {1, "delete", {"a.events=2/sometimes"}}), std::invalid_argument);
  EXPECT_THROW((void)topic_plan(schemas, {1, "delete", {"a.events"}}), std::invalid_argument);
}

TEST(provision, registration_is_idempotent_and_sets_the_none_subjects) {
  registry reg;
  memory_store store(reg);
  const auto first = register_schemas(reg, embedded_schemas());
  EXPECT_EQ(first.registered, 26);
  const auto log_size = store.log().size();
  const auto second = register_schemas(reg, embedded_schemas());
  EXPECT_EQ(second.registered, 0);
  EXPECT_EQ(second.unchanged, 26);
  EXPECT_EQ(store.log().size(), log_size) << "a second run writes nothing";
  auto none = reg.get_config("internal.platform.unified.events-value", false);
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(none));
  EXPECT_EQ(std::get<nlohmann::json>(none)["compatibilityLevel"], "NONE");
  EXPECT_TRUE(std::holds_alternative<api_error>(reg.get_config("public.user.message.events-value", false)));
}

TEST(provision, an_incompatible_change_names_the_subject_and_the_reason) {
  registry reg;
  memory_store store(reg);
  (void)register_schemas(reg, {{"a.events", R"({"type":"record","name":"A","fields":[{"name":"x","type":"int"}]})"}});
  try {
    (void)register_schemas(reg,
                           {{"a.events", R"({"type":"record","name":"A","fields":[{"name":"x","type":"string"}]})"}});
    FAIL() << "expected a failure";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("subject a.events-value"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("incompatible"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace substrate::schema
