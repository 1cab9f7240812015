#pragma once
#include "core/logging.h"

namespace substrate::app {
inline constexpr core::logger app_log{"substrate"};
}  // namespace substrate::app
