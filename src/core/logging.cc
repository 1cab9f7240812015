#include "core/logging.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "core/swar.h"

namespace substrate::core {
namespace {

std::atomic<log_level> g_level{log_level::info};
std::atomic<log_format> g_format{log_format::json};
// One mutex for the one sink (stderr), so lines of different threads never interleave. Logging
// is off the data path by rule (no per-record logs), so contention is not a concern.
std::mutex g_sink_mutex;

constexpr std::string_view level_name(log_level level) {
  switch (level) {
    case log_level::trace:
      return "trace";
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "info";
}

void append_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                 utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

void append_value(std::string& out, const log_field::value_type& value, bool quote_strings) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
          if (quote_strings) out.push_back('"');
          append_json_escaped(out, v);
          if (quote_strings) out.push_back('"');
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else {
          fmt::format_to(std::back_inserter(out), "{}", v);
        }
      },
      value);
}

}  // namespace

void configure_logging(log_level level, log_format format) {
  g_level.store(level);
  g_format.store(format);
}

bool parse_log_level(std::string_view text, log_level& out) {
  for (auto level : {log_level::trace, log_level::debug, log_level::info, log_level::warn, log_level::error}) {
    if (text == level_name(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

bool logger::enabled(log_level level) const {
  return level >= g_level.load(std::memory_order_relaxed);
}

void logger::write(log_level level, std::string_view message, log_fields fields) const {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(128 + message.size());
  if (g_format.load(std::memory_order_relaxed) == log_format::json) {
    line += "{\"ts\":\"";
    append_timestamp(line);
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"logger\":\"";
    append_json_escaped(line, name_);
    line += "\",\"msg\":\"";
    append_json_escaped(line, message);
    line += '"';
    for (const auto& field : fields) {
      line += ",\"";
      append_json_escaped(line, field.key);
      line += "\":";
      append_value(line, field.value, true);
    }
    line += "}\n";
  } else {
    append_timestamp(line);
    fmt::format_to(std::back_inserter(line), " {:<5} {}: {}", level_name(level), name_, message);
    for (const auto& field : fields) {
      fmt::format_to(std::back_inserter(line), " {}=", field.key);
      append_value(line, field.value, false);
    }
    line += '\n';
  }
  std::lock_guard lock(g_sink_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

namespace {
// The characters JSON strings must escape: controls, the quote and the backslash.
constexpr std::array<bool, 256> json_escaped_chars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}();
}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  // Runs of characters that need no escape are appended whole: escaping is the rare case, and
  // a push_back per character was most of the gateway's cost of binding the caller's identity.
  // Words of eight plain bytes are skipped whole (swar.h), and a tail under eight bytes is checked
  // as the text's last word (overlapping what came before); a word with a byte to escape is
  // walked byte by byte.
  const auto plain = [](std::uint64_t word) {
    return (swar::any_below(word, 0x20) | swar::any_equal(word, '"') | swar::any_equal(word, '\\')) == 0;
  };
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i + 8 <= text.size()) {
      if (plain(swar::load(text.data() + i))) {
        i += 8;
        continue;
      }
    } else if (text.size() >= 8 && plain(swar::load(text.data() + text.size() - 8))) {
      break;  // the rest is plain
    }
    const auto c = static_cast<unsigned char>(text[i++]);
    if (!json_escaped_chars[c]) continue;
    const std::size_t at = i - 1;
    out.append(text.data() + run, at - run);
    run = i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
    }
  }
  out.append(text.data() + run, text.size() - run);
}

}  // namespace substrate::core
