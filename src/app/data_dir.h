#pragma once
// The data directory of a substrate process and its exclusive lock.
//
// Only one substrate may use a data dir at a time: two would start two PostgreSQL servers on one
// cluster. The lock is an flock on <data_dir>/substrate.lock, released by the kernel when the
// process dies however it dies, so a `kill -9` never leaves a stale lock behind.

#include <string>

namespace substrate::app {

class data_dir_lock {
public:
  // Creates the directory (mode 0755) if needed and takes the lock; throws std::runtime_error
  // naming the directory (and the holder's pid) when that is not possible.
  explicit data_dir_lock(const std::string& path);
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
};

// Writes `content` to `path` atomically (temporary file, fsync, rename) with the given mode.
void write_file_atomically(const std::string& path, const std::string& content, unsigned mode);

// A stable identifier of this data dir (12 hex digits in <data_dir>/instance-id, created on first
// use): names what one instance owns on a shared database, such as its replication slot.
[[nodiscard]] std::string instance_id(const std::string& data_dir);

}  // namespace substrate::app
