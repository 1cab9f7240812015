#pragma once
// Error codes of the database layer (libpq connections, the managed cluster, migrations).

#include <string>
#include <system_error>

namespace substrate::db {

enum class errc {
  connection_failed = 1,
  query_failed,
  migration_changed,
  migration_unknown,
  migration_failed,
  pool_timeout,
};

const std::error_category& db_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), db_category()};
}

}  // namespace substrate::db

template <>
struct std::is_error_code_enum<substrate::db::errc> : std::true_type {};
