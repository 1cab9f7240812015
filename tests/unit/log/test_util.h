#pragma once
// Shared helpers of the log tests: a temporary directory removed at the end of the test, and
// batches built with batch_builder.

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "log/records.h"

namespace substrate::log::testing {

class temp_dir {
public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "substrate-log-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

// A batch of `count` records "key-<i>" = `value` (or value + "-<i>"), timestamps from `timestamp`.
inline std::vector<std::byte> make_batch(int count, const std::string& value, std::int64_t timestamp = 1000) {
  batch_builder builder;
  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const std::string v = value + "-" + std::to_string(i);
    builder.add(key, v, timestamp + i);
  }
  return builder.build();
}

inline std::string to_string(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace substrate::log::testing
