#include "app/signals.h"

#include "app/logger.h"

namespace substrate::app {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  return set;
}

void wait_for_stop(const sigset_t& signals, const std::function<bool()>& keep_serving) {
  for (;;) {
    const timespec tick{1, 0};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      app_log.info("{} received; stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      return;
    }
    if (keep_serving && !keep_serving()) return;
  }
}

}  // namespace substrate::app
