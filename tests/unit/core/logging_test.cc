#include "core/logging.h"

#include <gtest/gtest.h>

namespace substrate::core {
namespace {

TEST(logging, json_escaping_covers_quotes_backslashes_and_control_characters) {
  std::string out;
  append_json_escaped(out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0001");
}

TEST(logging, level_threshold_applies) {
  configure_logging(log_level::warn, log_format::json);
  constexpr logger log{"test"};
  EXPECT_FALSE(log.enabled(log_level::info));
  EXPECT_TRUE(log.enabled(log_level::error));
  configure_logging(log_level::info, log_format::json);
  EXPECT_TRUE(log.enabled(log_level::info));
}

TEST(logging, level_names_parse) {
  log_level level{};
  EXPECT_TRUE(parse_log_level("debug", level));
  EXPECT_EQ(level, log_level::debug);
  EXPECT_FALSE(parse_log_level("loud", level));
}

}  // namespace
}  // namespace substrate::core
