#pragma once
// The Auth service's PostgreSQL connections: at most `size_max` libpq connections, opened on
// demand, handed out as RAII leases. Blocking: used from the blocking pool only.
//
// A private detail of src/auth until the shared db::pool lands (same minimal shape: acquire()
// returning a lease). A lease whose user saw an error calls discard(), so a broken connection
// is closed instead of returned.
//
// Thread-safe; owned by auth::service, destroyed after every lease is returned.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/connection.h"

namespace substrate::auth {

class connection_pool {
public:
  connection_pool(std::string conninfo, int connect_timeout_ms, std::size_t size_max);

  class lease {
  public:
    lease(lease&& other) noexcept;
    lease& operator=(lease&&) = delete;
    ~lease();
    db::connection& operator*() { return *connection_; }
    db::connection* operator->() { return connection_.get(); }
    // Closes the connection when the lease ends instead of returning it.
    void discard() { discard_ = true; }

  private:
    friend class connection_pool;
    lease(connection_pool* owner, std::unique_ptr<db::connection> connection)
        : owner_(owner), connection_(std::move(connection)) {}
    connection_pool* owner_;
    std::unique_ptr<db::connection> connection_;
    bool discard_ = false;
  };

  // Waits for a free connection (or opens one while fewer than size_max exist).
  [[nodiscard]] result<lease> acquire();

private:
  void release(std::unique_ptr<db::connection> connection, bool discard);

  const std::string conninfo_;
  const int connect_timeout_ms_;
  const std::size_t size_max_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<db::connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace substrate::auth
