#pragma once
// test_broker (the built-in broker alone, tests/contract/broker_main.cc) as a child process of a
// C++ test. The including target defines SUBSTRATE_TEST_BROKER, the path of the test_broker binary.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "scratch.h"

namespace substrate::test_support {

// test_broker on a fixed port and data dir, so that it can be killed and started again on both.
// It dies with the test process (PR_SET_PDEATHSIG), e.g. on a ctest timeout. Its stderr goes to
// broker.log beside the data dir.
class broker_process {
public:
  broker_process(std::uint16_t port, std::filesystem::path data_dir, std::vector<std::string> extra_args = {})
      : port_(port), data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}
  ~broker_process() {
    if (pid_ > 0) kill_now();
  }
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  // Starts it and waits for its "listening <port>" line.
  void start() {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    std::filesystem::create_directories(data_dir_);
    const std::string log = (data_dir_.parent_path() / "broker.log").string();
    std::vector<std::string> args{SUBSTRATE_TEST_BROKER, "--port", std::to_string(port_), "--data-dir",
                                  data_dir_.string()};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(out[1], STDOUT_FILENO);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, STDERR_FILENO);
      ::close(out[0]);
      ::execv(SUBSTRATE_TEST_BROKER, argv.data());
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

  // SIGKILL: the crash the tests are about.
  void kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // SIGTERM, expecting a clean exit.
  void stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }

  std::uint16_t port() const { return port_; }
  std::string bootstrap() const { return fmt::format("127.0.0.1:{}", port_); }

private:
  std::uint16_t port_;
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
};

}  // namespace substrate::test_support
