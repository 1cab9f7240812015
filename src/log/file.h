#pragma once
// A POSIX file descriptor with the few positioned, blocking operations the log needs. Errors
// are errc::io_error values whose context names the operation, the path and errno's text.
//
// Ownership: move-only, closes its descriptor. Not synchronised: one thread uses a given
// `file`; a second thread gets its own descriptor through duplicate() (see sync_handle).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "core/result.h"
#include "log/errc.h"

namespace substrate::log {

enum class open_mode {
  read_write,         // the file must exist
  read_write_create,  // created if missing, kept if present
  directory,          // read-only, for fsync of a directory
};

class file {
public:
  [[nodiscard]] static result<file> open(const std::filesystem::path& path, open_mode mode);

  file() = default;
  file(file&& other) noexcept;
  file& operator=(file&& other) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file();

  [[nodiscard]] bool is_open() const { return fd_ >= 0; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Writes all of `bytes` at `position`, retrying short writes and EINTR.
  [[nodiscard]] result<void> write_at(std::span<const std::byte> bytes, std::uint64_t position);
  // Reads up to `bytes.size()` bytes at `position`; fewer only at the end of the file.
  [[nodiscard]] result<std::size_t> read_at(std::span<std::byte> bytes, std::uint64_t position) const;
  [[nodiscard]] result<std::uint64_t> size() const;
  [[nodiscard]] result<void> truncate(std::uint64_t size);
  // Writes zeros over [from, size), so the blocks are allocated *and written*. Not fallocate:
  // ext4 and XFS mark fallocated extents "unwritten", and the first write into one converts it,
  // a metadata change that makes every following fdatasync commit the journal (measured on the
  // 2-core machine's ext4: ~90 us and ~27 us of CPU per append + fdatasync, against ~60 us and
  // ~20 us over written zeros). PostgreSQL zero-fills its WAL segments for the same reason.
  [[nodiscard]] result<void> write_zeros(std::uint64_t from, std::uint64_t size);
  // fdatasync for regular files, fsync for directories.
  [[nodiscard]] result<void> sync();
  // A second descriptor for the same open file, for use on another thread.
  [[nodiscard]] result<file> duplicate() const;

private:
  file(int fd, std::filesystem::path path, bool is_directory)
      : fd_(fd), path_(std::move(path)), is_directory_(is_directory) {}
  void close();

  int fd_ = -1;
  std::filesystem::path path_;
  bool is_directory_ = false;
};

// An errc::io_error for a failed call on `path`, from errno.
[[nodiscard]] error io_error(const char* operation, const std::filesystem::path& path, int error_number);

// fsync of a directory, so that created, renamed and deleted names in it are durable.
[[nodiscard]] result<void> sync_directory(const std::filesystem::path& path);

}  // namespace substrate::log
