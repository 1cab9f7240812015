#include "kafka/broker/topic_config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "log/file.h"

namespace substrate::kafka {
namespace {

constexpr std::string_view metadata_file_name = "topic.properties";
constexpr std::string_view producer_id_file_name = "producer_ids";
constexpr std::string_view format_line = "format=1";

tl::unexpected<error> config_error(std::string_view name, std::string_view value, std::string_view why) {
  return make_error(log::errc::invalid_config, fmt::format("{}={}: {}", name, value, why));
}

std::optional<std::int64_t> parse_i64(std::string_view text) {
  std::int64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

bool valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

result<void> apply_topic_config(log::partition_config& config, std::string_view name, std::string_view value) {
  if (name == "cleanup.policy") {
    if (value == "delete") {
      config.cleanup = log::cleanup_policy::delete_;
    } else if (value == "compact") {
      config.cleanup = log::cleanup_policy::compact;
    } else {
      return config_error(name, value, "expected delete or compact");
    }
    return {};
  }
  if (name == "min.cleanable.dirty.ratio") {
    double ratio = 0;
    const auto* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, ratio);
    if (ec != std::errc() || ptr != end || value.empty()) return config_error(name, value, "not a number");
    if (!(ratio >= 0.0 && ratio <= 1.0)) return config_error(name, value, "must be between 0 and 1");
    config.min_cleanable_dirty_ratio = ratio;
    return {};
  }
  std::int64_t* target = nullptr;
  if (name == "delete.retention.ms") target = &config.delete_retention_ms;
  if (name == "retention.ms") target = &config.retention_ms;
  if (name == "retention.bytes") target = &config.retention_bytes;
  if (name == "segment.bytes") target = &config.segment_bytes;
  if (name == "segment.ms") target = &config.segment_ms;
  if (name == "max.message.bytes") target = &config.batch_bytes_max;
  if (target == nullptr) return config_error(name, value, "unknown topic config");
  auto number = parse_i64(value);
  if (!number) return config_error(name, value, "not an integer");
  log::partition_config candidate = config;
  if (name == "delete.retention.ms") candidate.delete_retention_ms = *number;
  if (name == "retention.ms") candidate.retention_ms = *number;
  if (name == "retention.bytes") candidate.retention_bytes = *number;
  if (name == "segment.bytes") candidate.segment_bytes = *number;
  if (name == "segment.ms") candidate.segment_ms = *number;
  if (name == "max.message.bytes") candidate.batch_bytes_max = *number;
  if (auto valid = log::validate(candidate); !valid) return config_error(name, value, valid.error().message());
  *target = *number;
  return {};
}

std::optional<std::string> topic_config_value(const log::partition_config& config, std::string_view name) {
  if (name == "cleanup.policy") return config.cleanup == log::cleanup_policy::compact ? "compact" : "delete";
  if (name == "retention.ms") return std::to_string(config.retention_ms);
  if (name == "retention.bytes") return std::to_string(config.retention_bytes);
  if (name == "segment.bytes") return std::to_string(config.segment_bytes);
  if (name == "segment.ms") return std::to_string(config.segment_ms);
  if (name == "max.message.bytes") return std::to_string(config.batch_bytes_max);
  if (name == "delete.retention.ms") return std::to_string(config.delete_retention_ms);
  if (name == "min.cleanable.dirty.ratio") return fmt::format("{}", config.min_cleanable_dirty_ratio);
  return std::nullopt;
}

std::filesystem::path partition_directory(const std::filesystem::path& data_dir, std::string_view topic,
                                          std::int32_t partition) {
  return data_dir / fmt::format("{}-{}", topic, partition);
}

std::filesystem::path topic_metadata_path(const std::filesystem::path& data_dir, std::string_view topic) {
  return partition_directory(data_dir, topic, 0) / metadata_file_name;
}

result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  auto temporary = path;
  temporary += ".tmp";
  {
    auto f = log::file::open(temporary, log::open_mode::read_write_create);
    if (!f) return tl::unexpected(f.error());
    if (auto r = f->truncate(0); !r) return r;
    if (auto r = f->write_at(std::as_bytes(std::span(text.data(), text.size())), 0); !r) return r;
    if (auto r = f->sync(); !r) return r;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return make_error(log::errc::io_error, fmt::format("rename {}: {}", temporary.string(), ec.message()));
  auto directory = log::file::open(path.parent_path(), log::open_mode::directory);
  if (!directory) return tl::unexpected(directory.error());
  return directory->sync();
}

result<void> write_topic_metadata(const std::filesystem::path& data_dir, const topic_metadata& topic) {
  std::string text = fmt::format("{}\nname={}\npartitions={}\n", format_line, topic.name, topic.partitions);
  for (const auto& [name, value] : topic.overrides) text += fmt::format("config.{}={}\n", name, value);
  return write_file_atomically(topic_metadata_path(data_dir, topic.name), text);
}

result<topic_metadata> read_topic_metadata(const std::filesystem::path& file, const log::partition_config& defaults) {
  std::ifstream in(file);
  if (!in) return make_error(log::errc::io_error, fmt::format("cannot read {}", file.string()));
  topic_metadata out;
  out.config = defaults;
  std::string line;
  std::size_t number = 0;
  bool saw_format = false;
  bool saw_partitions = false;
  auto bad = [&](std::string_view why) {
    return make_error(log::errc::invalid_config, fmt::format("{} line {}: {}", file.string(), number, why));
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) return bad("expected key=value");
    const std::string_view key = std::string_view(line).substr(0, eq);
    const std::string_view value = std::string_view(line).substr(eq + 1);
    if (line == format_line) {
      saw_format = true;
    } else if (key == "format") {
      return bad("unsupported format version");
    } else if (key == "name") {
      out.name = value;
    } else if (key == "partitions") {
      auto n = parse_i64(value);
      if (!n || *n < 1 || *n > 1'000'000) return bad("bad partition count");
      out.partitions = static_cast<std::int32_t>(*n);
      saw_partitions = true;
    } else if (key.starts_with("config.")) {
      const auto name = key.substr(7);
      if (auto r = apply_topic_config(out.config, name, value); !r) return bad(r.error().message());
      out.overrides[std::string(name)] = value;
    } else {
      return bad("unknown key");
    }
  }
  if (!saw_format || !saw_partitions || !valid_topic_name(out.name)) return bad("incomplete file");
  if (file.parent_path().filename() != out.name + "-0") return bad("the name does not match the directory");
  return out;
}

std::vector<std::filesystem::path> find_topic_metadata_files(const std::filesystem::path& data_dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (!entry.is_directory()) continue;
    auto candidate = entry.path() / metadata_file_name;
    if (std::filesystem::exists(candidate, ec)) out.push_back(std::move(candidate));
  }
  std::sort(out.begin(), out.end());
  return out;
}

result<std::int64_t> read_next_producer_id(const std::filesystem::path& data_dir) {
  const auto path = data_dir / producer_id_file_name;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::int64_t{0};
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  constexpr std::string_view prefix = "next_producer_id=";
  if (!text.starts_with(prefix))
    return make_error(log::errc::invalid_config, fmt::format("{}: bad format", path.string()));
  auto n = parse_i64(std::string_view(text).substr(prefix.size()));
  if (!n || *n < 0) return make_error(log::errc::invalid_config, fmt::format("{}: bad id", path.string()));
  return *n;
}

result<void> write_next_producer_id(const std::filesystem::path& data_dir, std::int64_t next) {
  return write_file_atomically(data_dir / producer_id_file_name, fmt::format("next_producer_id={}\n", next));
}

}  // namespace substrate::kafka
