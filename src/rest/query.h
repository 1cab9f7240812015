#pragma once
// The PostgREST query-string grammar (supabase-compat.md 3.3), decoded form-style and parsed into
// plain data. No SQL here: sql.h turns a parsed query into a statement, resolving every name
// against the schema cache. Pure functions, safe on any thread; bounded by `query_limits`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace substrate::rest {

// A request error in PostgREST's shape (spec 3.6) with its HTTP status.
struct api_error {
  int status = 400;
  std::string code;
  std::string message;
  std::string details;        // empty: JSON null
  std::string hint;           // empty: JSON null
  std::string content_range;  // a Content-Range header to send with it (416), when not empty
};
template <class T>
using api_result = tl::expected<T, api_error>;
[[nodiscard]] tl::unexpected<api_error> fail(int status, std::string code, std::string message,
                                             std::string details = {}, std::string hint = {});

struct query_limits {
  std::size_t in_list_max = 1000;     // items of one in.(...) list
  std::size_t logic_depth_max = 8;    // nesting of or=/and=
  std::size_t conditions_max = 512;   // filters of one request, all groups included
  std::size_t select_items_max = 48;  // explicit select items (json_build_object takes 100 args)
  std::size_t order_items_max = 32;
};

// One step of a JSON path: `->key` (as_text false) or `->>key` (as_text true).
struct json_step {
  std::string key;
  bool as_text = false;
};

struct select_item {
  std::string column;  // "*" for all columns
  std::string alias;   // empty: the column name (or the last JSON key)
  std::vector<json_step> path;
};

enum class filter_op { eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, is, isdistinct, in, cs, cd, ov };

struct filter {
  std::string column;
  filter_op op = filter_op::eq;
  bool negate = false;
  std::string value;              // the operand (for `is`: null, not_null, true, false, unknown)
  std::vector<std::string> list;  // the items of in.(...)
};

// A condition: a leaf filter or an and/or group of conditions.
struct condition {
  enum class kind { leaf, all, any } type = kind::leaf;
  bool negate = false;
  filter leaf;
  std::vector<condition> children;
};

struct order_item {
  std::string column;
  bool descending = false;
  std::optional<bool> nulls_first;  // nullopt: PostgreSQL's default placement
};

struct query {
  std::vector<select_item> select;  // {"*"} when the request has no select
  std::vector<condition> where;     // ANDed
  std::vector<order_item> order;
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> offset;
  std::vector<std::string> on_conflict;
  std::optional<std::vector<std::string>> columns;
  // rpc: the non-reserved parameters, in order (function arguments of GET/HEAD rpc calls).
  std::vector<std::pair<std::string, std::string>> arguments;

  [[nodiscard]] bool select_all() const {
    return select.size() == 1 && select[0].column == "*" && select[0].path.empty();
  }
};

// Splits `a=1&b=2` and decodes each name and value ('+' is a space, %XX escapes).
[[nodiscard]] api_result<std::vector<std::pair<std::string, std::string>>> decode_form(std::string_view raw);

// Parses a raw (undecoded) query string. With `rpc`, non-reserved keys are function arguments
// instead of filters.
[[nodiscard]] api_result<query> parse_query(std::string_view raw, bool rpc, const query_limits& limits);

// The parts, exposed for tests and the fuzzer.
[[nodiscard]] api_result<std::vector<select_item>> parse_select(std::string_view text, const query_limits& limits);
[[nodiscard]] api_result<filter> parse_filter(std::string column, std::string_view text, const query_limits& limits);
[[nodiscard]] api_result<condition> parse_logic(bool any, bool negate, std::string_view text,
                                                const query_limits& limits);
[[nodiscard]] api_result<std::vector<order_item>> parse_order(std::string_view text, const query_limits& limits);
// `"a","b"` or `a,b` -> {a, b}.
[[nodiscard]] api_result<std::vector<std::string>> parse_column_list(std::string_view text);

// PostgreSQL array literal `{"a","b\""}` of the items (for `= any($n)`).
[[nodiscard]] std::string array_literal(const std::vector<std::string>& items);

}  // namespace substrate::rest
