#pragma once
#include "core/logging.h"

namespace substrate::auth {
inline constexpr core::logger auth_log{"auth"};
}  // namespace substrate::auth
