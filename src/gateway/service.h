#pragma once
// The gateway's HTTP endpoints (contracts.md 3.1; issue 6) on a router of their own listener:
//   POST /api/v1/events/{key}                      bearer JWT, externalRoutes, 202 after the ack
//   POST /webhooks/{key}                           X-Webhook-Secret, webhookRoutes, 202 after the ack
//   POST /api/v1/media/{upload,download,delete}-intent   bearer JWT, validated intents, 202
//   GET  /admin/routes                             service_role token: the active routes
// Every error is {"error": "<code>", "message": "<the reference's sentence>[: detail]"}.
//
// Order of checks for an event: token (401) -> route (403) -> rate limit (429) -> content type
// (415) -> JSON (400) -> schema (400) -> broker (503) -> 202 {"event_id", "topic", "partition",
// "offset"}. The body size limit (413) is the listener's (http.body_bytes_max of its options).
//
// Ownership: borrows everything; all of it must outlive the router. Handlers run on the
// listener's shards; encoding runs on the blocking pool.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "core/metrics.h"
#include "gateway/event_sink.h"
#include "gateway/rate_limiter.h"
#include "gateway/requests.h"
#include "gateway/routes.h"
#include "gateway/token_verifier.h"
#include "net/router.h"

namespace substrate::gateway {

struct service_options {
  std::string webhook_secret;  // empty: every webhook is refused (401)
  media_policy media;
  double rate_per_s = 100;  // per caller; <= 0: no limit
  double rate_burst = 200;
  // Clocks, injected for tests.
  std::function<std::int64_t()> now_s;   // unix seconds (token times, event times)
  std::function<std::int64_t()> now_ms;  // monotonic milliseconds (rate limiter)
};

class service {
public:
  service(service_options options, const token_verifier& verifier, route_store& routes, event_sink& sink,
          core::metrics_registry& metrics, boost::asio::thread_pool& blocking);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  void add_routes(net::router& router);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::gateway
