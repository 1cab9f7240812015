#pragma once
#include <signal.h>

namespace substrate::app {

// The signals a long-running role handles itself (SIGINT, SIGTERM, SIGCHLD), blocked in every
// thread and taken with sigtimedwait by the main thread: no async handlers, no races with the
// I/O threads. Block them before any thread exists, so every thread inherits the mask.
sigset_t handled_signals();

}  // namespace substrate::app
