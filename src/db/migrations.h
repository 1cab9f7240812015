#pragma once
// Schema migrations: migrations/NNNN_name.sql, embedded in the binary at build time, applied in
// order, each in its own transaction, and recorded with a SHA-256 checksum in
// public.substrate_migrations. A migration that was changed after it was applied, or a recorded
// migration this binary does not know, stops start-up with a clear error. Concurrent starters
// (several replicas against one external database) serialise on an advisory lock.

#include <string>
#include <vector>

#include "core/result.h"
#include "db/connection.h"

namespace substrate::db {

struct migration {
  int version = 0;
  std::string name;  // file name without extension, e.g. "0001_roles"
  std::string sql;
};

// The migrations compiled into this binary, in version order.
[[nodiscard]] const std::vector<migration>& embedded_migrations();

struct migration_report {
  int applied = 0;
  int already_applied = 0;
};

[[nodiscard]] result<migration_report> apply_migrations(connection& conn, const std::vector<migration>& migrations);

[[nodiscard]] std::string sha256_hex(const std::string& data);

}  // namespace substrate::db
