#pragma once
// A bounded pool of blocking libpq connections for work on the blocking thread pool (REST, Auth).
//
// acquire() hands out a lease (RAII: the connection returns to the pool when the lease dies).
// At most `size` connections exist; when all are leased, acquire waits up to `acquire_timeout_ms`
// and then fails with errc::pool_timeout. Connections open lazily. A connection that libpq reports
// broken, or that its holder discards (e.g. after a failed ROLLBACK), is closed instead of being
// returned, and the next acquire opens a fresh one: a restarted server is reconnected to.
//
// Thread-safe. The pool must outlive every lease. Never call acquire() on a shard (it blocks).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/connection.h"

namespace substrate::db {

struct pool_options {
  std::string conninfo;
  std::size_t size = 10;
  int acquire_timeout_ms = 5000;
  int connect_timeout_ms = 5000;
  // Statements run once on every new connection (e.g. "set timezone = 'UTC'"); empty: none.
  std::string on_connect;
};

class pool {
public:
  explicit pool(pool_options options);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  class lease {
  public:
    lease(lease&& other) noexcept;
    lease& operator=(lease&&) = delete;
    ~lease();
    [[nodiscard]] connection& operator*() { return *connection_; }
    [[nodiscard]] connection* operator->() { return connection_.get(); }
    // Closes the connection instead of returning it (its state is unknown).
    void discard() { discard_ = true; }

  private:
    friend class pool;
    lease(pool* owner, std::unique_ptr<connection> c) : owner_(owner), connection_(std::move(c)) {}
    pool* owner_;
    std::unique_ptr<connection> connection_;
    bool discard_ = false;
  };

  // A connection within acquire_timeout_ms, or errc::pool_timeout / errc::connection_failed.
  [[nodiscard]] result<lease> acquire();

  [[nodiscard]] std::size_t size() const { return options_.size; }
  [[nodiscard]] std::size_t idle() const;

private:
  void give_back(std::unique_ptr<connection> c, bool discard);

  const pool_options options_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace substrate::db
