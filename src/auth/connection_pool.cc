#include "auth/connection_pool.h"

namespace substrate::auth {

connection_pool::connection_pool(std::string conninfo, int connect_timeout_ms, std::size_t size_max)
    : conninfo_(std::move(conninfo)), connect_timeout_ms_(connect_timeout_ms), size_max_(size_max) {}

connection_pool::lease::lease(lease&& other) noexcept
    : owner_(other.owner_), connection_(std::move(other.connection_)), discard_(other.discard_) {
  other.owner_ = nullptr;
}

connection_pool::lease::~lease() {
  if (owner_ && connection_) owner_->release(std::move(connection_), discard_);
}

result<connection_pool::lease> connection_pool::acquire() {
  {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return !idle_.empty() || open_ < size_max_; });
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return lease(this, std::move(connection));
    }
    ++open_;  // reserve the slot, connect outside the lock
  }
  auto opened = db::connection::open(conninfo_, connect_timeout_ms_);
  if (!opened) {
    std::lock_guard lock(mutex_);
    --open_;
    freed_.notify_one();
    return tl::unexpected(opened.error());
  }
  return lease(this, std::make_unique<db::connection>(std::move(*opened)));
}

void connection_pool::release(std::unique_ptr<db::connection> connection, bool discard) {
  std::lock_guard lock(mutex_);
  if (discard) {
    connection.reset();
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  freed_.notify_one();
}

}  // namespace substrate::auth
