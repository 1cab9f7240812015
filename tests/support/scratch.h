#pragma once
// Scratch resources of the C++ tests that start real processes: a free loopback port and a
// temporary directory.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace substrate::test_support {

// Whether a TCP socket can bind 127.0.0.1:`port` now.
inline bool loopback_bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

// Claims `port` for this process among the test processes of the machine, as the JS tests'
// freePort does (tests/e2e/lib/substrate.mjs): a file `<port>.<period>` in
// $TMPDIR/substrate-test-ports created exclusively claims it for the current 15-minute period
// and the next. A port that is merely free can be handed to two tests running in parallel
// before either binds it. scripts/run-tests removes old files. 0 when claimed, EEXIST when
// another process holds it, another errno when no claim can be written at all.
inline int claim_port(std::uint16_t port) {
  using namespace std::chrono;
  const auto dir = std::filesystem::temp_directory_path() / "substrate-test-ports";
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::all | std::filesystem::perms::sticky_bit, ec);
  }
  const auto period = duration_cast<minutes>(system_clock::now().time_since_epoch()).count() / 15;
  if (std::filesystem::exists(dir / (std::to_string(port) + "." + std::to_string(period - 1)), ec)) return EEXIST;
  const auto file = dir / (std::to_string(port) + "." + std::to_string(period));
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// A loopback port that is free now and claimed for this process, below the kernel's ephemeral
// range (ip_local_port_range, 32768 and up by default). The kernel's own pick for port 0 comes
// from that range, where every outgoing connection of the tests running in parallel also takes
// its local port, so the port could be taken again before the process under test binds it
// ("Address already in use", seen in make test).
inline std::uint16_t free_port() {
  int ephemeral_low = 32768;
  if (std::FILE* range = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(range, "%d", &ephemeral_low) != 1) ephemeral_low = 32768;
    std::fclose(range);
  }
  constexpr int lowest = 10000;
  if (ephemeral_low <= lowest + 1000) {
    ADD_FAILURE() << "the ephemeral port range starts at " << ephemeral_low << ": no room below it for test ports";
    return 0;
  }
  static thread_local std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(lowest, ephemeral_low - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    const int claimed = claim_port(port);
    if (claimed == 0 && loopback_bindable(port)) return port;
    if (claimed != 0 && claimed != EEXIST) {
      ADD_FAILURE() << "cannot claim a test port in " << std::filesystem::temp_directory_path() / "substrate-test-ports"
                    << ": " << std::strerror(claimed);
      return 0;
    }
  }
  ADD_FAILURE() << "no free, unclaimed loopback port between " << lowest << " and " << ephemeral_low;
  return 0;
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
