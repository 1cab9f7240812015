#pragma once
#include "core/logging.h"

namespace substrate::bus {
inline constexpr core::logger bus_log{"bus"};
}  // namespace substrate::bus
