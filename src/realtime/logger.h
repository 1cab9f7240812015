#pragma once
#include "core/logging.h"

namespace substrate::realtime {
inline constexpr core::logger realtime_log{"realtime"};
}  // namespace substrate::realtime
