#pragma once
// What /rest/v1 may name: the tables, views, columns and functions of the exposed schemas, read
// from pg_catalog. SQL is built only from names found here (quoted) and bound parameters.
//
// Immutable once loaded; the service swaps in a new cache (shared_ptr) on reload.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace substrate::db {
class connection;
}

namespace substrate::rest {

struct column_info {
  std::string name;
  std::string type;  // format_type() text, e.g. "bigint", "text[]"
};

struct table_info {
  std::string schema;
  std::string name;
  bool is_view = false;
  std::vector<column_info> columns;  // in attnum order
  std::vector<std::string> primary_key;
  [[nodiscard]] const column_info* find(std::string_view column) const {
    for (const auto& c : columns) {
      if (c.name == column) return &c;
    }
    return nullptr;
  }
};

struct function_arg {
  std::string name;  // empty for an unnamed argument
  std::string type;
};

struct function_info {
  std::string schema;
  std::string name;
  std::vector<function_arg> args;  // input arguments
  int defaults = 0;                // the last `defaults` args may be omitted
  bool returns_set = false;
  bool returns_void = false;
  bool is_volatile = true;
};

struct schema_cache {
  std::vector<std::string> schemas;
  std::map<std::string, table_info, std::less<>> tables;                     // "schema.name"
  std::map<std::string, std::vector<function_info>, std::less<>> functions;  // "schema.name"

  [[nodiscard]] const table_info* table(std::string_view schema, std::string_view name) const;
  [[nodiscard]] const std::vector<function_info>* function(std::string_view schema, std::string_view name) const;
};

// Reads the catalog (blocking).
[[nodiscard]] result<schema_cache> load_schema_cache(db::connection& connection,
                                                     const std::vector<std::string>& schemas);

}  // namespace substrate::rest
