#pragma once
// Keeps the verifier's JWKS keys of `gateway.jwks_url` current (contracts.md 3.1.2; the
// reference fetched them once at start, so a rotated signing key locked every user out until a
// restart).
//
// The document is fetched again every `refresh_ms`, and soon after a token names a `kid` that no
// key has (token_verifier::on_unknown_kid): the provider may have rotated its keys. Such
// fetches are rate-limited: at most one per `min_interval_ms` after the previous fetch (a
// request in between is deferred to that time, not dropped), so a stream of tokens with made-up
// kids cannot turn the gateway into a load generator against the JWKS host. A fetch that fails
// or returns no usable key keeps the previous keys (logged, counted).
//
// The fetch is injected (app/gateway_role.cc uses net::http_client): it returns the document's
// text or an error, and may block up to its own timeout on the refresher's thread.
//
// Threading: request() from any thread (it only signals); start()/stop() from the owner. One
// thread of its own while started.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "gateway/token_verifier.h"

namespace substrate::gateway {

struct jwks_refresher_options {
  std::int64_t refresh_ms = 300'000;      // periodic fetch; <= 0: only on unknown kids
  std::int64_t min_interval_ms = 30'000;  // between two fetches asked by unknown kids
};

class jwks_refresher {
public:
  using fetch_function = std::function<result<std::string>()>;

  // `fixed` are keys kept whatever the URL serves (gateway.jwks_file); `last_fetch` is when the
  // keys the verifier has now were fetched (at start-up, by the owner).
  jwks_refresher(token_verifier& verifier, std::vector<jwk> fixed, fetch_function fetch, jwks_refresher_options options,
                 core::metrics_registry& metrics, std::chrono::steady_clock::time_point last_fetch);
  ~jwks_refresher();
  jwks_refresher(const jwks_refresher&) = delete;
  jwks_refresher& operator=(const jwks_refresher&) = delete;

  void start();
  void stop();

  // Asks for a fetch as soon as the rate limit allows (an unknown kid was seen).
  void request();

  // Fetches now and installs the keys when the document is usable (the thread calls it; public
  // for start-up and tests). Returns the number of keys installed.
  result<std::size_t> refresh();

private:
  void run();

  token_verifier& verifier_;
  std::vector<jwk> fixed_;
  fetch_function fetch_;
  jwks_refresher_options options_;
  core::metric_family<core::counter>& refreshes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool requested_ = false;
  std::chrono::steady_clock::time_point last_fetch_;
  std::thread thread_;
};

}  // namespace substrate::gateway
