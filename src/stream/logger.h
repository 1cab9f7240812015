#pragma once
#include "core/logging.h"

namespace substrate::stream {
inline constexpr core::logger stream_log{"stream"};
}  // namespace substrate::stream
