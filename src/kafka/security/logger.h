#pragma once
#include "core/logging.h"

namespace substrate::kafka::security {
inline constexpr core::logger security_log{"kafka.security"};
}  // namespace substrate::kafka::security
