#include "core/assert.h"

#include <execinfo.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace substrate::detail {

void assert_failed(const char* file, int line, const char* condition, const std::string& message) {
  std::fprintf(stderr,
               "{\"level\":\"critical\",\"logger\":\"assert\",\"msg\":\"assertion failed: %s (%s) at %s:%d\"}\n",
               condition, message.c_str(), file, line);
  void* frames[64];
  const int count = backtrace(frames, 64);
  backtrace_symbols_fd(frames, count, STDERR_FILENO);
  std::abort();
}

}  // namespace substrate::detail
