#pragma once
#include "core/logging.h"

namespace substrate::db {
inline constexpr core::logger db_log{"db"};
}  // namespace substrate::db
