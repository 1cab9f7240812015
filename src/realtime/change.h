#pragma once
// One committed row change as the hub delivers it, and the pure pieces of the event payload
// (supabase-compat.md 4.4): value conversion from pgoutput's text forms to the JSON that
// `to_jsonb` would give, the commit timestamp format, and the `data` object per subscriber
// column set.
//
// Pure functions; a change is immutable once built and shared between threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "realtime/pgoutput.h"

namespace substrate::realtime {

// A published table as the change source knows it: the last Relation message plus the type
// names of its columns and whether row-level security is enabled (both read from the catalog
// when the Relation message arrives).
struct table_info {
  pgoutput::relation rel;
  std::vector<std::string> type_names;  // pg_type.typname per column, same order
  bool rls_enabled = false;
};

struct change {
  std::shared_ptr<const table_info> table;
  std::string type;                          // INSERT, UPDATE or DELETE
  pgoutput::tuple new_tuple;                 // INSERT, UPDATE
  std::optional<pgoutput::tuple> old_tuple;  // UPDATE (when sent), DELETE
  bool old_key_only = true;                  // old_tuple carries the replica identity only
  std::int64_t commit_time_us = 0;           // unix microseconds
  std::uint32_t xid = 0;                     // the writing transaction
};

// "2024-05-01T12:00:00.123Z".
[[nodiscard]] std::string format_commit_timestamp(std::int64_t unix_us);
// pgoutput's text output of a value of type `type_name` (session TimeZone UTC, DateStyle ISO) as
// the JSON value to_jsonb gives: booleans, numbers, parsed json/jsonb, ISO timestamps; else the
// text unchanged (arrays stay in their literal form, which the client converts).
[[nodiscard]] nlohmann::json text_to_json(const std::string& text, std::string_view type_name);

// The text value of `column` in the row the filters look at (the new row; the old one for
// DELETE); nullopt for NULL, unchanged TOAST or an unknown column.
[[nodiscard]] std::optional<std::string> column_text(const change& c, std::string_view column);
// The key columns (replica identity) of the row RLS is checked on, with their text values from
// the new row (INSERT, UPDATE) or the old one (DELETE). Empty when the table has no key.
struct key_value {
  std::string column;
  std::string text;
};
[[nodiscard]] std::vector<key_value> row_key(const change& c);

// The event's `data` for a subscriber whose role may select the columns named in `selectable`
// (attribute order is the relation's). `errors` is null unless the key is not selectable, then
// ["Error 401: Unauthorized"] and no record (4.8 step 3).
[[nodiscard]] nlohmann::json change_data(const change& c, const std::vector<std::string>& selectable);

}  // namespace substrate::realtime
