#include "core/logging.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace substrate::core {
namespace {

TEST(logging, json_escaping_covers_quotes_backslashes_and_control_characters) {
  std::string out;
  append_json_escaped(out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0001");
}

// Escaping skips plain text eight bytes at a time: every escaped character at every offset of
// a longer text, non-ASCII UTF-8 next to it, against a byte-at-a-time reference.
TEST(logging, json_escaping_finds_each_character_at_every_offset) {
  const auto reference = [](std::string_view text) {
    std::string out;
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (u < 0x20) {
        out += fmt::format("\\u{:04x}", u);
      } else {
        out += c;
      }
    }
    return out;
  };
  const std::string plain = "user-0123456789abcdef@example.com/\xc3\xa9t\xc3\xa9~";
  for (const char special : {'"', '\\', '\n', '\r', '\t', '\x00', '\x01', '\x1f'}) {
    for (std::size_t at = 0; at <= plain.size(); ++at) {
      std::string text = plain;
      text.insert(at, 1, special);
      if (at % 3 == 0) text.insert(std::min(text.size(), at + 1 + at % 5), 1, '"');  // now and then a second one nearby
      std::string out = "prefix:";
      append_json_escaped(out, text);
      ASSERT_EQ(out, "prefix:" + reference(text)) << "character " << int(special) << " at " << at;
    }
  }
  std::string out;
  append_json_escaped(out, plain);
  EXPECT_EQ(out, plain);
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
