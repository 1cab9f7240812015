#pragma once
#include "core/logging.h"

namespace substrate::log {
inline constexpr core::logger log_log{"log"};
}  // namespace substrate::log
