#pragma once
// The coarse clocks: the time of the kernel's last tick (1-4 ms resolution), read from the vDSO
// without the TSC. For times read on every request that need no finer grain: connection
// deadlines (net), a token's time claims in seconds and the rate limiter's millisecond buckets
// (gateway). CLOCK_MONOTONIC_COARSE has steady_clock's base, CLOCK_REALTIME_COARSE
// system_clock's, so the results mix with those clocks' own readings.

#include <time.h>

#include <chrono>

namespace substrate::core {

inline std::chrono::steady_clock::time_point coarse_steady_now() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec)));
}

inline std::chrono::system_clock::time_point coarse_system_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec)));
}

}  // namespace substrate::core
