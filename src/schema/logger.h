#pragma once
#include "core/logging.h"

namespace substrate::schema {
inline constexpr core::logger schema_log{"schema"};
}  // namespace substrate::schema
