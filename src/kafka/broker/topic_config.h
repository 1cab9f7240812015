#pragma once
// Topic-level settings and the small files the broker keeps next to the log: the topic
// metadata file (`<data_dir>/<topic>-0/topic.properties`) and the producer-id file
// (`<data_dir>/producer_ids`). Both formats are in docs/formats/kafka-broker.md.
//
// Plain values and blocking file I/O; any thread (the broker calls the file functions on its
// blocking pool or at start-up only).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "log/partition.h"

namespace substrate::kafka {

// Kafka's rules: 1-249 characters of [a-zA-Z0-9._-], and not "." or "..".
[[nodiscard]] bool valid_topic_name(std::string_view name);

// The topic configs this broker understands, with Kafka's names.
inline constexpr std::string_view topic_config_keys[] = {
    "cleanup.policy", "retention.ms",      "retention.bytes",     "segment.bytes",
    "segment.ms",     "max.message.bytes", "delete.retention.ms", "min.cleanable.dirty.ratio",
};

// A topic: its partition count, the effective partition_config, and the configs that were set
// explicitly (by CreateTopics), which are what is persisted and reported as DYNAMIC_TOPIC_CONFIG.
struct topic_metadata {
  std::string name;
  std::int32_t partitions = 1;
  log::partition_config config;
  std::map<std::string, std::string> overrides;  // Kafka config name -> value as given
};

// Applies one Kafka config (`name` = `value`) to `config`. Errors (unknown name, bad value) are
// log::errc::invalid_config values naming the config.
[[nodiscard]] result<void> apply_topic_config(log::partition_config& config, std::string_view name,
                                              std::string_view value);

// The value of a Kafka config name in `config`, as DescribeConfigs reports it; nullopt for a
// name not in topic_config_keys.
[[nodiscard]] std::optional<std::string> topic_config_value(const log::partition_config& config, std::string_view name);

// `<data_dir>/<topic>-<partition>`.
[[nodiscard]] std::filesystem::path partition_directory(const std::filesystem::path& data_dir, std::string_view topic,
                                                        std::int32_t partition);
// `<data_dir>/<topic>-0/topic.properties`.
[[nodiscard]] std::filesystem::path topic_metadata_path(const std::filesystem::path& data_dir, std::string_view topic);

// Writes the metadata file atomically and durably (temporary file, fdatasync, rename, fsync of
// the directory). The directory must exist.
[[nodiscard]] result<void> write_topic_metadata(const std::filesystem::path& data_dir, const topic_metadata& topic);

// Reads a metadata file written by write_topic_metadata; `defaults` supplies the configs that
// are not overridden. Errors name the file and line.
[[nodiscard]] result<topic_metadata> read_topic_metadata(const std::filesystem::path& file,
                                                         const log::partition_config& defaults);

// Every topic metadata file under `data_dir` (start-up).
[[nodiscard]] std::vector<std::filesystem::path> find_topic_metadata_files(const std::filesystem::path& data_dir);

// The producer-id file: the next id to hand out. A missing file means 0.
[[nodiscard]] result<std::int64_t> read_next_producer_id(const std::filesystem::path& data_dir);
[[nodiscard]] result<void> write_next_producer_id(const std::filesystem::path& data_dir, std::int64_t next);

// Writes `text` to `path` atomically and durably (see write_topic_metadata).
[[nodiscard]] result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace substrate::kafka
