#include "log/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <sys/stat.h>

namespace substrate::log {

error io_error(const char* operation, const std::filesystem::path& path, int error_number) {
  return error{errc::io_error, fmt::format("{} {}: {}", operation, path.string(), std::strerror(error_number))};
}

result<file> file::open(const std::filesystem::path& path, open_mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case open_mode::read_write:
      flags |= O_RDWR;
      break;
    case open_mode::read_write_create:
      flags |= O_RDWR | O_CREAT;
      break;
    case open_mode::directory:
      flags |= O_RDONLY | O_DIRECTORY;
      break;
  }
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return tl::unexpected(io_error("open", path, errno));
  return file(fd, path, mode == open_mode::directory);
}

file::file(file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), is_directory_(other.is_directory_) {}

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    is_directory_ = other.is_directory_;
  }
  return *this;
}

file::~file() {
  close();
}

void file::close() {
  // close() errors are not actionable here: durability comes from sync(), which reports.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

result<void> file::write_at(std::span<const std::byte> bytes, std::uint64_t position) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(position));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(io_error("pwrite", path_, errno));
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    position += static_cast<std::uint64_t>(n);
  }
  return {};
}

result<std::size_t> file::read_at(std::span<std::byte> bytes, std::uint64_t position) const {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(io_error("pread", path_, errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

result<std::uint64_t> file::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return tl::unexpected(io_error("fstat", path_, errno));
  return static_cast<std::uint64_t>(st.st_size);
}

result<void> file::truncate(std::uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return tl::unexpected(io_error("ftruncate", path_, errno));
  return {};
}

result<void> file::write_zeros(std::uint64_t from, std::uint64_t size) {
  static constexpr std::array<std::byte, 64 * 1024> zeros{};
  while (from < size) {
    const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), size - from));
    if (auto r = write_at(std::span(zeros.data(), chunk), from); !r) return r;
    from += chunk;
  }
  return {};
}

result<void> file::sync() {
  const int rc = is_directory_ ? ::fsync(fd_) : ::fdatasync(fd_);
  if (rc != 0) return tl::unexpected(io_error(is_directory_ ? "fsync" : "fdatasync", path_, errno));
  return {};
}

result<file> file::duplicate() const {
  const int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return tl::unexpected(io_error("dup", path_, errno));
  return file(fd, path_, is_directory_);
}

result<void> sync_directory(const std::filesystem::path& path) {
  auto dir = file::open(path, open_mode::directory);
  if (!dir) return tl::unexpected(dir.error());
  return dir->sync();
}

}  // namespace substrate::log
