#include "db/pool.h"

namespace substrate::db {

pool::pool(pool_options options) : options_(std::move(options)) {}

pool::~pool() = default;

pool::lease::lease(lease&& other) noexcept
    : owner_(other.owner_), connection_(std::move(other.connection_)), discard_(other.discard_) {
  other.owner_ = nullptr;
}

pool::lease::~lease() {
  if (owner_ && connection_) owner_->give_back(std::move(connection_), discard_);
}

std::size_t pool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void pool::give_back(std::unique_ptr<connection> c, bool discard) {
  {
    std::lock_guard lock(mutex_);
    if (discard || c->broken()) {
      --open_;
    } else {
      idle_.push_back(std::move(c));
    }
  }
  available_.notify_one();
  // A discarded connection closes here, outside the lock.
}

result<pool::lease> pool::acquire() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.acquire_timeout_ms);
  std::unique_lock lock(mutex_);
  for (;;) {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (!c->broken()) return lease(this, std::move(c));
      --open_;
    }
    if (open_ < options_.size) break;
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= options_.size) {
      return make_error(errc::pool_timeout, "no database connection became free in time");
    }
  }
  ++open_;
  lock.unlock();
  auto opened = connection::open(options_.conninfo, options_.connect_timeout_ms);
  if (opened && !options_.on_connect.empty()) {
    if (auto setup = opened->exec(options_.on_connect); !setup) opened = tl::unexpected<error>(setup.error());
  }
  if (!opened) {
    {
      std::lock_guard relock(mutex_);
      --open_;
    }
    available_.notify_one();
    return tl::unexpected<error>(opened.error());
  }
  return lease(this, std::make_unique<connection>(std::move(*opened)));
}

}  // namespace substrate::db
