#pragma once
// Starts a real managed PostgreSQL in a fresh temporary data dir for one test.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../../support/scratch.h"
#include "db/managed_postgres.h"

namespace substrate::db {

class postgres_fixture : public ::testing::Test {
public:
  struct scratch_dir {
    scratch_dir() {
      char pattern[] = "/tmp/substrate-test-XXXXXX";
      path = ::mkdtemp(pattern);
      // The postgres user (when tests run as root) must be able to enter the directory.
      ::chmod(path.c_str(), 0755);
    }
    ~scratch_dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
    std::string path;
  };

  static std::uint16_t free_port() { return test_support::free_port(); }

protected:
  void SetUp() override {
    options_.port = free_port();
    options_.start_timeout_ms = 30000;
    restart();
  }
  void TearDown() override {
    if (postgres_) postgres_->stop();
  }

  void restart() {
    if (postgres_) postgres_->stop();
    postgres_ = std::make_unique<managed_postgres>(dir_.path, options_);
    postgres_->start();
  }

  managed_postgres& postgres() { return *postgres_; }
  std::uint16_t port() const { return static_cast<std::uint16_t>(options_.port); }

  scratch_dir dir_;
  core::database_config options_;
  std::unique_ptr<managed_postgres> postgres_;
};

}  // namespace substrate::db
