#pragma once
// Scratch resources of the C++ tests that start real processes: a free loopback port and a
// temporary directory.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace substrate::test_support {

// Whether a TCP socket can bind 127.0.0.1:`port` now (0: the kernel picks; `picked` gets it).
inline bool loopback_bindable(std::uint16_t port, std::uint16_t* picked = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (bound && picked) {
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    *picked = ntohs(address.sin_port);
  }
  ::close(fd);
  return bound;
}

// A loopback port that is free now, below the kernel's ephemeral range (ip_local_port_range,
// 32768 and up by default). The kernel's own pick for port 0 comes from that range, where every
// outgoing connection of the tests running in parallel also takes its local port, so the port
// could be taken again before the process under test binds it ("Address already in use", seen
// in make test). Below the range only another test's random pick can collide.
inline std::uint16_t free_port() {
  int ephemeral_low = 32768;
  if (std::FILE* range = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(range, "%d", &ephemeral_low) != 1) ephemeral_low = 32768;
    std::fclose(range);
  }
  constexpr int lowest = 10000;
  if (ephemeral_low > lowest + 1000) {
    static thread_local std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pick(lowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      const auto port = static_cast<std::uint16_t>(pick(random));
      if (loopback_bindable(port)) return port;
    }
  }
  std::uint16_t port = 0;
  EXPECT_TRUE(loopback_bindable(0, &port));
  return port;
}

// A fresh directory under the system's temp dir, removed with everything in it. Mode 0755 so
// that a PostgreSQL running as `postgres` (tests run as root) can enter it.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix = "substrate-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path_ = ::mkdtemp(pattern.data());
    std::filesystem::permissions(path_, std::filesystem::perms(0755));
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace substrate::test_support
