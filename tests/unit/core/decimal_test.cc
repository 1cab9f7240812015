// core::append_decimal against std::to_string, at the edges of each width and sign.
#include "core/decimal.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace substrate::core {
namespace {

template <class Int>
void expect_as_to_string(Int value) {
  std::string out = "x=";
  append_decimal(out, value);
  EXPECT_EQ(out, "x=" + std::to_string(value));
}

TEST(append_decimal, writes_what_to_string_writes_at_every_edge) {
  for (const std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{9}, std::int64_t{10},
                               std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    expect_as_to_string(v);
  }
  expect_as_to_string(std::numeric_limits<std::uint64_t>::max());
  expect_as_to_string(std::numeric_limits<std::int32_t>::min());
  expect_as_to_string(202);
  expect_as_to_string(std::size_t{123456});
}

}  // namespace
}  // namespace substrate::core
