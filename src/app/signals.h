#pragma once
#include <signal.h>

#include <functional>

namespace substrate::app {

// The signals a long-running role handles itself (SIGINT, SIGTERM, SIGCHLD), blocked in every
// thread and taken with sigtimedwait by the main thread: no async handlers, no races with the
// I/O threads. Block them before any thread exists, so every thread inherits the mask.
sigset_t handled_signals();

// The main thread's wait while a role serves: returns when SIGINT or SIGTERM arrives (logged),
// or when `keep_serving`, asked once a second, says false. SIGCHLD only wakes the check early.
void wait_for_stop(const sigset_t& signals, const std::function<bool()>& keep_serving = {});

}  // namespace substrate::app
