#include "app/data_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>

namespace substrate::app {
namespace fs = std::filesystem;

data_dir_lock::data_dir_lock(const std::string& path) : path_(fs::absolute(path).lexically_normal().string()) {
  if (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  std::error_code ec;
  if (!fs::exists(path_, ec)) {
    fs::create_directories(path_, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create data dir {}: {}", path_, ec.message()));
    ::chmod(path_.c_str(), 0755);
  } else if (!fs::is_directory(path_, ec)) {
    throw std::runtime_error(fmt::format("data dir {} exists but is not a directory", path_));
  }
  const std::string lock_path = path_ + "/substrate.lock";
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", lock_path, std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(
        fmt::format("another substrate (pid {}) is using the data dir {}; stop it or choose "
                    "another --data-dir",
                    n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "unknown", path_));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The pid in the file is informational only; the flock is what excludes.
  }
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

void write_file_atomically(const std::string& path, const std::string& content, unsigned mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot write {}: {}", temporary, std::strerror(errno)));
  const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                       ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
}

std::string instance_id(const std::string& data_dir) {
  const std::string path = data_dir + "/instance-id";
  if (std::ifstream in(path); in) {
    std::string id;
    in >> id;
    if (id.size() == 12 && id.find_first_not_of("0123456789abcdef") == std::string::npos) return id;
  }
  unsigned char bytes[6];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("cannot generate an instance id (RAND_bytes)");
  std::string id;
  for (const unsigned char b : bytes) id += fmt::format("{:02x}", b);
  write_file_atomically(path, id + "\n", 0644);
  return id;
}

}  // namespace substrate::app
