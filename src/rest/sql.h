#pragma once
// Turns a parsed request into one SQL statement. Every identifier comes from the schema cache
// (quoted), every value from the request is a bound parameter ($n, sent with unknown type so that
// PostgreSQL coerces it to the column's type exactly as PostgREST does). Pure functions.
//
// Result shapes:
//   read / representation writes: one row (total bigint or NULL, page bigint, body text: a JSON
//     array built by json_agg).
//   minimal writes: no rows; the affected count comes from the command tag.
//   upsert with merge-duplicates: always the first shape, total = the rows inserted (not merged).
//   rpc: one row (body text: JSON) - or no body for void functions.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rest/query.h"
#include "rest/schema_cache.h"

namespace substrate::rest {

struct statement {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

enum class resolution { none, merge_duplicates, ignore_duplicates };

[[nodiscard]] std::string quote_ident(std::string_view name);

[[nodiscard]] api_result<statement> build_read(const table_info& table, const query& q, bool count);
[[nodiscard]] api_result<statement> build_insert(const table_info& table, const query& q, const nlohmann::json& body,
                                                 bool representation, resolution how);
[[nodiscard]] api_result<statement> build_update(const table_info& table, const query& q, const nlohmann::json& body,
                                                 bool representation);
[[nodiscard]] api_result<statement> build_delete(const table_info& table, const query& q, bool representation);

// Picks the overload of `candidates` whose argument names cover `args` (a JSON object) and whose
// required arguments are all given; 404 PGRST202 otherwise.
[[nodiscard]] api_result<const function_info*> pick_function(const std::vector<function_info>& candidates,
                                                             const nlohmann::json& args);
[[nodiscard]] api_result<statement> build_rpc(const function_info& fn, const nlohmann::json& args);

}  // namespace substrate::rest
