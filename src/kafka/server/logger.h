#pragma once
#include "core/logging.h"

namespace substrate::kafka {
inline constexpr core::logger kafka_log{"kafka"};
}  // namespace substrate::kafka
