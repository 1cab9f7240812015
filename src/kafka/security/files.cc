#include "kafka/security/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "kafka/security/errc.h"

namespace substrate::kafka::security {
namespace {

auto io_error(const std::filesystem::path& path, std::string_view what) {
  return make_error(errc::io_error, fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// The parent directory of a security file, created 0700 when missing (it holds credentials).
result<std::filesystem::path> ensure_parent(const std::filesystem::path& path) {
  const auto directory = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(directory, ec)) {
    std::filesystem::create_directories(directory, ec);
    if (ec) return make_error(errc::io_error, fmt::format("cannot create {}: {}", directory.string(), ec.message()));
    ::chmod(directory.c_str(), 0700);
  }
  return directory;
}

}  // namespace

result<std::optional<std::string>> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return io_error(path, "cannot open");
  }
  std::string out;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto e = io_error(path, "cannot read");
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > (64u << 20)) {
      ::close(fd);
      return make_error(errc::invalid_file, fmt::format("{} is larger than 64 MiB", path.string()));
    }
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

result<void> replace_file(const std::filesystem::path& path, const std::string& content) {
  auto parent = ensure_parent(path);
  if (!parent) return tl::unexpected(parent.error());
  const auto directory = *parent;
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error(temporary, "cannot create");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto e = io_error(temporary, "cannot write");
      ::close(fd);
      ::unlink(temporary.c_str());
      return e;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    auto e = io_error(temporary, "cannot sync");
    ::close(fd);
    ::unlink(temporary.c_str());
    return e;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    auto e = io_error(path, "cannot rename onto");
    ::unlink(temporary.c_str());
    return e;
  }
  // The rename itself is durable only once the directory is synced.
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error(directory, "cannot open");
  const bool synced = ::fsync(dir_fd) == 0;
  ::close(dir_fd);
  if (!synced) return io_error(directory, "cannot sync");
  return {};
}

result<file_lock> file_lock::acquire(const std::filesystem::path& path) {
  if (auto parent = ensure_parent(path); !parent) return tl::unexpected(parent.error());
  const auto lock_path = std::filesystem::path(path.string() + ".lock");
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error(lock_path, "cannot open");
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    auto e = io_error(lock_path, "cannot lock");
    ::close(fd);
    return e;
  }
  return file_lock(fd);
}

file_lock::file_lock(file_lock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

file_lock::~file_lock() {
  if (fd_ >= 0) ::close(fd_);
}

file_version stat_version(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
          static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec, true};
}

}  // namespace substrate::kafka::security
