#pragma once
// The three routes every listener serves: GET /metrics (Prometheus text), GET /healthz (200 while
// the process lives) and GET /readyz (200 only when every dependency answers, else 503 naming
// the failing ones).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "core/metrics.h"
#include "net/router.h"

namespace substrate::net {

// A dependency probe. It may block (it runs on the blocking pool) and must bound its own time;
// it returns nothing when the dependency is usable, else a sentence saying what is wrong.
struct readiness_check {
  std::string name;
  std::function<std::optional<std::string>()> probe;
};

class readiness {
public:
  // Registered at start-up, before the listeners serve.
  void add(readiness_check check) { checks_.push_back(std::move(check)); }
  [[nodiscard]] const std::vector<readiness_check>& checks() const { return checks_; }

private:
  std::vector<readiness_check> checks_;
};

// Adds /metrics, /healthz and /readyz to `routes`. The registry, readiness and pool must outlive
// the router.
void add_observability_routes(router& routes, core::metrics_registry& registry, const readiness& ready,
                              boost::asio::thread_pool& blocking);

}  // namespace substrate::net
