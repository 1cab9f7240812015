// The coarse clocks read the same bases as steady_clock and system_clock (their results are
// compared and mixed with those clocks' readings), to within a tick or so.
#include "core/coarse_clock.h"

#include <chrono>

#include <gtest/gtest.h>

namespace substrate::core {
namespace {

using namespace std::chrono_literals;

TEST(coarse_clock, steady_and_system_readings_share_their_clocks_bases) {
  const auto coarse_steady = coarse_steady_now();
  const auto steady_after = std::chrono::steady_clock::now();
  EXPECT_LE(coarse_steady, steady_after) << "the last tick is not after a precise reading taken later";
  EXPECT_LT(steady_after - coarse_steady, 1s);
  EXPECT_LE(coarse_steady, coarse_steady_now());
  const auto coarse_system = coarse_system_now();
  const auto system = std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(system - coarse_system), 1s);
}

}  // namespace
}  // namespace substrate::core
