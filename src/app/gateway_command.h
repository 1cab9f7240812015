#pragma once
#include "core/config.h"

namespace substrate::app {

// `substrate gateway`: the ingress gateway alone (issue 6), producing to the Kafka cluster and
// registry of bus.* (default: kafka.listen_address:port and http://registry.listen_address:port,
// e.g. a running `substrate up` or `substrate broker` + `substrate registry`). Tokens verify with
// api.jwt_secret, else the data dir's secret (<data_dir>/secrets/jwt-secret, shared with `up`).
// Admin listener with /metrics /healthz /readyz as the other roles. In the foreground until
// SIGINT or SIGTERM; 0 after an orderly stop, 1 when start-up failed.
int run_gateway(const core::config& cfg);

}  // namespace substrate::app
