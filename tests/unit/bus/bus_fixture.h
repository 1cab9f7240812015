#pragma once
// Real dependencies for the bus tests: a schema registry served over HTTP on 127.0.0.1 port 0
// (schema::registry on a memory store, the same REST API and HTTP server `substrate registry`
// runs), and test_broker (the built-in broker alone) as a child process on a free port.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/metrics.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "schema/memory_store.h"
#include "schema/rest_api.h"

namespace substrate::bus::testing {

inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

class temp_dir {
public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "substrate-bus-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
    std::filesystem::permissions(path_, std::filesystem::perms(0755));
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

// The registry's REST API on an HTTP listener; `check` turns on basic auth.
class registry_server {
public:
  explicit registry_server(schema::authenticator check = {}) : store_(registry_), api_(registry_, std::move(check)) {
    core::http_config limits;
    limits.access_log = false;
    limits.shutdown_grace_ms = 1000;
    pool_ = std::make_unique<net::io_pool>(1, 2);
    http_metrics_ = std::make_unique<net::http_metrics>(metrics_);
    auto routes = std::make_shared<net::router>();
    schema::add_routes(*routes, api_, pool_->blocking());
    server_ = std::make_unique<net::http_server>(*pool_, net::http_server_options{"registry", "127.0.0.1", 0, limits},
                                                 routes, *http_metrics_);
    pool_->start();
    server_->start();
  }
  ~registry_server() {
    server_->stop();
    pool_->stop();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }
  schema::registry& registry() { return registry_; }

private:
  schema::registry registry_;
  schema::memory_store store_;
  schema::rest_api api_;
  core::metrics_registry metrics_;
  std::unique_ptr<net::http_metrics> http_metrics_;
  std::unique_ptr<net::io_pool> pool_;
  std::unique_ptr<net::http_server> server_;
};

// test_broker as a child process on a fixed port and data dir; killed with the test process.
class broker_process {
public:
  broker_process(std::filesystem::path data_dir, int partitions = 1)
      : port_(free_port()), data_dir_(std::move(data_dir)), partitions_(partitions) {}
  ~broker_process() {
    if (pid_ > 0) kill_now();
  }

  void start() {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const std::string log = (data_dir_.parent_path() / "broker.log").string();
    const std::string port = std::to_string(port_);
    const std::string dir = data_dir_.string();
    const std::string partitions = std::to_string(partitions_);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(out[1], STDOUT_FILENO);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, STDERR_FILENO);
      ::close(out[0]);
      ::execl(SUBSTRATE_TEST_BROKER, SUBSTRATE_TEST_BROKER, "--port", port.c_str(), "--data-dir", dir.c_str(),
              "--partitions", partitions.c_str(), "--shards", "1", static_cast<char*>(nullptr));
      std::perror("exec test_broker");
      ::_exit(127);
    }
    ::close(out[1]);
    std::string seen;
    char buffer[256];
    while (seen.find('\n') == std::string::npos) {
      const auto n = ::read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      seen.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    ASSERT_EQ(seen, fmt::format("listening {}\n", port_)) << "test_broker did not start; see " << log;
  }

  void kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string bootstrap() const { return fmt::format("127.0.0.1:{}", port_); }

private:
  std::uint16_t port_;
  std::filesystem::path data_dir_;
  int partitions_;
  pid_t pid_ = -1;
};

}  // namespace substrate::bus::testing
