#pragma once
#include "core/config.h"

namespace substrate::app {

// `substrate up`: every role in one process, in the foreground, until SIGINT or SIGTERM.
// Returns the process exit status: 0 after an orderly stop, 1 when start-up failed or a
// dependency (the managed PostgreSQL) died underneath.
int run_up(const core::config& cfg);

}  // namespace substrate::app
