#include "gateway/jwks_refresher.h"

#include <algorithm>

#include "gateway/logger.h"

namespace substrate::gateway {

using clock = std::chrono::steady_clock;

jwks_refresher::jwks_refresher(token_verifier& verifier, std::vector<jwk> fixed, fetch_function fetch,
                               jwks_refresher_options options, core::metrics_registry& metrics,
                               clock::time_point last_fetch)
    : verifier_(verifier),
      fixed_(std::move(fixed)),
      fetch_(std::move(fetch)),
      options_(options),
      refreshes_(metrics.add_counter("substrate_gateway_jwks_refresh_total",
                                     "Fetches of gateway.jwks_url after start-up, by result (ok, error).", {"result"})),
      last_fetch_(last_fetch) {}

jwks_refresher::~jwks_refresher() {
  stop();
}

void jwks_refresher::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void jwks_refresher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void jwks_refresher::request() {
  {
    std::lock_guard lock(mutex_);
    if (requested_) return;
    requested_ = true;
  }
  wake_.notify_all();
}

result<std::size_t> jwks_refresher::refresh() {
  auto fail = [this](error e) -> result<std::size_t> {
    refreshes_.labels({"error"}).increment();
    gateway_log.warn("gateway.jwks_url: keeping the previous keys: {}", e.message());
    return tl::unexpected(std::move(e));
  };
  auto text = fetch_();
  if (!text) return fail(std::move(text.error()));
  auto parsed = parse_jwks(*text);
  if (!parsed) return fail(std::move(parsed.error()));
  std::vector<jwk> keys = fixed_;
  keys.insert(keys.end(), std::make_move_iterator(parsed->begin()), std::make_move_iterator(parsed->end()));
  const std::size_t count = keys.size();
  verifier_.set_keys(std::move(keys));
  refreshes_.labels({"ok"}).increment();
  gateway_log.info("gateway.jwks_url: keys refreshed ({} keys)", count);
  return count;
}

void jwks_refresher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto periodic = options_.refresh_ms > 0 ? last_fetch_ + std::chrono::milliseconds(options_.refresh_ms)
                                                  : clock::time_point::max();
    const auto allowed = last_fetch_ + std::chrono::milliseconds(std::max<std::int64_t>(options_.min_interval_ms, 0));
    const auto due = requested_ ? std::min(periodic, allowed) : periodic;
    if (clock::now() < due) {
      if (due == clock::time_point::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, due);
      }
      continue;  // woken: a request, stop, or the time came; decide again
    }
    requested_ = false;
    lock.unlock();
    (void)refresh();  // logged and counted inside
    lock.lock();
    last_fetch_ = clock::now();
  }
}

}  // namespace substrate::gateway
