#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace substrate::core {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(config, defaults_match_the_architecture_ports) {
  const config c = load_config({});
  EXPECT_EQ(c.data_dir, "./var");
  EXPECT_EQ(c.database.port, 54322);
  EXPECT_EQ(c.admin.port, 9464);
  EXPECT_TRUE(c.database.url.empty());
}

TEST(config, yaml_sets_nested_keys_of_every_type) {
  config c;
  apply_config_yaml(c,
                    "data_dir: /srv/substrate\n"
                    "log: {level: debug, format: text}\n"
                    "database:\n  port: 6000\n  url: postgresql://u:p@db/x\n"
                    "http:\n  cors_origins: [\"http://localhost:3000\", \"*\"]\n  access_log: false\n",
                    "test.yaml");
  EXPECT_EQ(c.data_dir, "/srv/substrate");
  EXPECT_EQ(c.log.level, log_level::debug);
  EXPECT_EQ(c.log.format, log_format::text);
  EXPECT_EQ(c.database.port, 6000);
  EXPECT_EQ(c.database.url, "postgresql://u:p@db/x");
  EXPECT_EQ(c.http.cors_origins, (std::vector<std::string>{"http://localhost:3000", "*"}));
  EXPECT_FALSE(c.http.access_log);
}

TEST(config, unknown_key_is_named) {
  config c;
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database:\n  prot: 5432\n", "f.yaml"); }),
              HasSubstr("database.prot: unknown configuration key"));
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "nonsense: 1\n", "f.yaml"); }), HasSubstr("nonsense"));
}

TEST(config, bad_type_is_named_with_what_was_expected) {
  config c;
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database:\n  port: lots\n", "f.yaml"); }),
              HasSubstr("database.port: expected an integer, got 'lots'"));
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "http:\n  access_log: maybe\n", "f.yaml"); }),
              HasSubstr("http.access_log: expected true or false"));
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "log:\n  level: loud\n", "f.yaml"); }),
              HasSubstr("log.level: expected one of trace, debug, info, warn, error"));
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database: 5\n", "f.yaml"); }),
              HasSubstr("database: expected a mapping"));
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database:\n  port: [1, 2]\n", "f.yaml"); }),
              HasSubstr("database.port: expected a single value"));
}

TEST(config, out_of_range_value_is_named) {
  config c;
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database:\n  port: 70000\n", "f.yaml"); }),
              HasSubstr("database.port: 70000 is out of range [1, 65535]"));
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database:\n  port: 99999999999999999999999\n", "f.yaml"); }),
              HasSubstr("out of range"));
}

TEST(config, malformed_yaml_is_reported_with_the_file) {
  config c;
  EXPECT_THAT(error_of([&] { apply_config_yaml(c, "database: [unclosed\n", "broken.yaml"); }),
              HasSubstr("broken.yaml: not valid YAML"));
}

TEST(config, environment_overrides_file_and_flags_override_environment) {
  config_sources sources;
  sources.environment = {"PATH=/bin", "SUBSTRATE_DATABASE_PORT=6001", "SUBSTRATE_HTTP_CORS_ORIGINS=http://a,http://b",
                         "SUBSTRATE_ADMIN_PORT=7000"};
  sources.flags = {{"admin.port", "7001"}};
  const config c = load_config(sources);
  EXPECT_EQ(c.database.port, 6001);
  EXPECT_EQ(c.admin.port, 7001);
  EXPECT_EQ(c.http.cors_origins, (std::vector<std::string>{"http://a", "http://b"}));
}

TEST(config, unknown_or_bad_environment_variable_is_named) {
  EXPECT_THAT(error_of([] { (void)load_config({.environment = {"SUBSTRATE_DATABSE_PORT=1"}}); }),
              HasSubstr("SUBSTRATE_DATABSE_PORT: unknown configuration variable"));
  EXPECT_THAT(error_of([] { (void)load_config({.environment = {"SUBSTRATE_DATABASE_PORT=0"}}); }),
              HasSubstr("SUBSTRATE_DATABASE_PORT: 0 is out of range"));
  EXPECT_THAT(error_of([] { (void)load_config({.flags = {{"no.such", "1"}}}); }), HasSubstr("no.such"));
}

TEST(config, missing_file_is_an_error) {
  EXPECT_THAT(error_of([] { (void)load_config({.file = std::string("/nonexistent/substrate.yaml")}); }),
              HasSubstr("cannot read"));
}

TEST(config, rendered_yaml_masks_secrets_and_reads_back_the_same) {
  config c;
  c.database.url = "postgresql://user:hunter2@db:5432/app";
  c.http.cors_origins = {"http://x"};
  c.kafka.sasl.enabled = true;
  c.kafka.authorization.super_users = {"User:admin"};
  const std::string text = render_config_yaml(c);
  EXPECT_THAT(text, HasSubstr("kafka:\n"));
  EXPECT_THAT(text, HasSubstr("\n  sasl:\n    enabled: true\n"));
  EXPECT_THAT(text, HasSubstr("url: \"********\""));
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  config again;
  apply_config_yaml(again, text, "rendered");
  EXPECT_EQ(again.database.port, c.database.port);
  EXPECT_EQ(again.http.cors_origins, c.http.cors_origins);
  EXPECT_EQ(again.data_dir, c.data_dir);
  EXPECT_TRUE(again.kafka.sasl.enabled);
  EXPECT_EQ(again.kafka.authorization.super_users, c.kafka.authorization.super_users);
}

TEST(config, kafka_security_keys_are_validated) {
  EXPECT_THAT(error_of([] {
                (void)load_config({.flags = {{"kafka.sasl.enabled", "true"}, {"kafka.sasl.mechanisms", "GSSAPI"}}});
              }),
              HasSubstr("kafka.sasl.mechanisms"));
  EXPECT_THAT(error_of([] {
                (void)load_config({.flags = {{"kafka.authorization.super_users", "admin"}}});
              }),
              HasSubstr("kafka.authorization.super_users"));
  const auto c = load_config({.environment = {"SUBSTRATE_KAFKA_SASL_MECHANISMS=PLAIN"}});
  EXPECT_EQ(c.kafka.sasl.mechanisms, std::vector<std::string>{"PLAIN"});
}

TEST(config, every_property_is_documented) {
  const auto docs = describe_config();
  ASSERT_FALSE(docs.empty());
  for (const auto& p : docs) {
    EXPECT_FALSE(p.doc.empty()) << p.name;
    EXPECT_TRUE(p.environment_name.starts_with("SUBSTRATE_")) << p.name;
  }
}

}  // namespace
}  // namespace substrate::core
