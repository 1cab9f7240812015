#pragma once
// Structured logging facade over spdlog. Every subsystem owns one named `logger`
// (e.g. `net::http_log`); lines go to stderr as one JSON object each:
//   {"ts":"2026-11-26T11:40:00.123Z","level":"info","logger":"db","msg":"...","port":54322}
// or, with log.format=text, as a human-readable line. Thread-safe: spdlog serialises the sink.
//
// Never log secrets (passwords, tokens, keys) or row payloads, and never per record in a loop.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include <fmt/format.h>

namespace substrate::core {

enum class log_level { trace, debug, info, warn, error };
enum class log_format { json, text };

// One key/value pair of a structured log line.
struct log_field {
  using value_type = std::variant<std::string_view, std::string, std::int64_t, std::uint64_t, double, bool>;
  std::string_view key;
  value_type value;

  log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
  log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  log_field(std::string_view k, long v) : key(k), value(static_cast<std::int64_t>(v)) {}
  log_field(std::string_view k, long long v) : key(k), value(static_cast<std::int64_t>(v)) {}
  log_field(std::string_view k, unsigned v) : key(k), value(static_cast<std::uint64_t>(v)) {}
  log_field(std::string_view k, unsigned long v) : key(k), value(static_cast<std::uint64_t>(v)) {}
  log_field(std::string_view k, unsigned long long v) : key(k), value(static_cast<std::uint64_t>(v)) {}
  log_field(std::string_view k, double v) : key(k), value(v) {}
  log_field(std::string_view k, bool v) : key(k), value(v) {}
};

using log_fields = std::initializer_list<log_field>;

// Sets the process-wide level and format. Called once by main after the configuration loaded;
// until then everything at info and above is logged as JSON.
void configure_logging(log_level level, log_format format);
[[nodiscard]] bool parse_log_level(std::string_view text, log_level& out);

class logger {
public:
  explicit constexpr logger(std::string_view name) : name_(name) {}

  [[nodiscard]] bool enabled(log_level level) const;
  void write(log_level level, std::string_view message, log_fields fields = {}) const;

  template <class... Args>
  void trace(fmt::format_string<Args...> format, Args&&... args) const {
    emit(log_level::trace, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    emit(log_level::debug, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    emit(log_level::info, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    emit(log_level::warn, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    emit(log_level::error, format, std::forward<Args>(args)...);
  }

  // A fixed message with structured fields: log.info("listener started", {{"port", 8080}}).
  void debug(std::string_view message, log_fields fields) const { write(log_level::debug, message, fields); }
  void info(std::string_view message, log_fields fields) const { write(log_level::info, message, fields); }
  void warn(std::string_view message, log_fields fields) const { write(log_level::warn, message, fields); }
  void error(std::string_view message, log_fields fields) const { write(log_level::error, message, fields); }

  [[nodiscard]] std::string_view name() const { return name_; }

private:
  template <class... Args>
  void emit(log_level level, fmt::format_string<Args...> format, Args&&... args) const {
    if (!enabled(level)) return;
    write(level, fmt::format(format, std::forward<Args>(args)...));
  }

  std::string_view name_;
};

// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace substrate::core
