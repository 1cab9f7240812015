#pragma once
// SUBSTRATE_ASSERT guards invariants of our own code. It stays on in release builds: a broken
// invariant logs the message and a backtrace, then aborts, because continuing would corrupt
// state. Never assert on bytes from the network, the disk or configuration: validate those and
// return an error instead (STYLE.md section 3).

#include <fmt/format.h>

namespace substrate::detail {
[[noreturn]] void assert_failed(const char* file, int line, const char* condition, const std::string& message);
}  // namespace substrate::detail

#define SUBSTRATE_ASSERT(condition, ...)                                                              \
  do {                                                                                                \
    if (!(condition)) [[unlikely]] {                                                                  \
      ::substrate::detail::assert_failed(__FILE__, __LINE__, #condition, ::fmt::format(__VA_ARGS__)); \
    }                                                                                                 \
  } while (0)

#ifdef NDEBUG
#define SUBSTRATE_DASSERT(condition, ...) \
  do {                                    \
  } while (0)
#else
#define SUBSTRATE_DASSERT(condition, ...) SUBSTRATE_ASSERT(condition, __VA_ARGS__)
#endif
