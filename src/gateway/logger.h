#pragma once
#include "core/logging.h"

namespace substrate::gateway {
inline constexpr core::logger gateway_log{"gateway"};
}  // namespace substrate::gateway
