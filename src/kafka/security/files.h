#pragma once
// File plumbing shared by the users and ACL files: atomic replacement (temporary file, fsync,
// rename, directory fsync) with mode 0600, an exclusive lock for read-modify-write by the CLI,
// and change detection for the broker's reload. Blocking; any thread.

#include <filesystem>
#include <optional>
#include <string>

#include "core/result.h"

namespace substrate::kafka::security {

// Contents of `path`; std::nullopt when it does not exist.
[[nodiscard]] result<std::optional<std::string>> read_file(const std::filesystem::path& path);

// Replaces `path` with `content` atomically and durably, mode 0600; creates the parent
// directory (0700) if needed.
[[nodiscard]] result<void> replace_file(const std::filesystem::path& path, const std::string& content);

// An flock on `<path>.lock`, held for the object's lifetime; serialises read-modify-write cycles
// of concurrent CLI invocations (the broker only reads, and rename makes its reads atomic).
class file_lock {
public:
  [[nodiscard]] static result<file_lock> acquire(const std::filesystem::path& path);
  file_lock(file_lock&& other) noexcept;
  file_lock& operator=(file_lock&&) = delete;
  ~file_lock();

private:
  explicit file_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Identity of a file's current version: inode, size and mtime (a rename changes the inode).
struct file_version {
  unsigned long long inode = 0;
  long long size = -1;
  long long mtime_ns = 0;
  bool exists = false;
  friend bool operator==(const file_version&, const file_version&) = default;
};
[[nodiscard]] file_version stat_version(const std::filesystem::path& path);

}  // namespace substrate::kafka::security
