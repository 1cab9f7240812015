#pragma once
#include "core/logging.h"

namespace substrate::net {
inline constexpr core::logger http_log{"http"};
}  // namespace substrate::net
