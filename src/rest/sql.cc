#include "rest/sql.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace substrate::rest {

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

class builder {
public:
  explicit builder(const table_info& table)
      : table_(table), relation_(quote_ident(table.schema) + "." + quote_ident(table.name)) {}

  [[nodiscard]] const std::string& relation() const { return relation_; }

  std::string bind(std::string value) {
    out.params.emplace_back(std::move(value));
    return fmt::format("${}", out.params.size());
  }

  api_result<std::string> column(std::string_view name) const {
    if (!table_.find(name)) {
      return fail(400, "42703", fmt::format("column {}.{} does not exist", table_.name, name));
    }
    return relation_ + "." + quote_ident(name);
  }

  api_result<std::string> condition_sql(const condition& c) {
    std::string sql;
    if (c.type == condition::kind::leaf) {
      auto leaf = filter_sql(c.leaf);
      if (!leaf) return leaf;
      sql = std::move(*leaf);
    } else {
      const char* joiner = c.type == condition::kind::any ? " or " : " and ";
      sql = "(";
      for (std::size_t i = 0; i < c.children.size(); ++i) {
        auto child = condition_sql(c.children[i]);
        if (!child) return child;
        if (i) sql += joiner;
        sql += *child;
      }
      if (c.children.empty()) sql += c.type == condition::kind::any ? "false" : "true";
      sql += ")";
    }
    return c.negate ? "not " + sql : sql;
  }

  api_result<std::string> filter_sql(const filter& f) {
    auto col = column(f.column);
    if (!col) return col;
    std::string sql;
    const auto binary = [&](const char* op) { return fmt::format("{} {} {}", *col, op, bind(f.value)); };
    switch (f.op) {
      case filter_op::eq:
        sql = binary("=");
        break;
      case filter_op::neq:
        sql = binary("<>");
        break;
      case filter_op::gt:
        sql = binary(">");
        break;
      case filter_op::gte:
        sql = binary(">=");
        break;
      case filter_op::lt:
        sql = binary("<");
        break;
      case filter_op::lte:
        sql = binary("<=");
        break;
      case filter_op::like:
        sql = binary("like");
        break;
      case filter_op::ilike:
        sql = binary("ilike");
        break;
      case filter_op::match:
        sql = binary("~");
        break;
      case filter_op::imatch:
        sql = binary("~*");
        break;
      case filter_op::isdistinct:
        sql = binary("is distinct from");
        break;
      case filter_op::cs:
        sql = binary("@>");
        break;
      case filter_op::cd:
        sql = binary("<@");
        break;
      case filter_op::ov:
        sql = binary("&&");
        break;
      case filter_op::in:
        sql = fmt::format("{} = any({})", *col, bind(array_literal(f.list)));
        break;
      case filter_op::is:
        // The keyword was checked by the parser; it maps to fixed SQL text.
        if (f.value == "null") sql = *col + " is null";
        if (f.value == "not_null") sql = *col + " is not null";
        if (f.value == "true") sql = *col + " is true";
        if (f.value == "false") sql = *col + " is false";
        if (f.value == "unknown") sql = *col + " is unknown";
        break;
    }
    return f.negate ? "not (" + sql + ")" : sql;
  }

  api_result<std::string> where(const query& q) {
    if (q.where.empty()) return std::string();
    std::string sql = " where ";
    for (std::size_t i = 0; i < q.where.size(); ++i) {
      auto c = condition_sql(q.where[i]);
      if (!c) return c;
      if (i) sql += " and ";
      sql += *c;
    }
    return sql;
  }

  // The JSON of one row of `pgrst_t` (whose columns are the table's) per the select list.
  api_result<std::string> row_json(const query& q) {
    if (q.select_all()) return std::string("pgrst_t");
    std::string sql = "json_build_object(";
    bool first = true;
    std::size_t keys = 0;
    const auto add = [&](const std::string& key, const std::string& expr) {
      if (!first) sql += ", ";
      first = false;
      ++keys;
      sql += bind(key) + "::text, " + expr;
    };
    for (const auto& item : q.select) {
      if (item.column == "*") {
        for (const auto& c : table_.columns) add(c.name, "pgrst_t." + quote_ident(c.name));
        continue;
      }
      if (!table_.find(item.column)) {
        return fail(400, "42703", fmt::format("column {}.{} does not exist", table_.name, item.column));
      }
      std::string expr = "pgrst_t." + quote_ident(item.column);
      std::string key = item.column;
      for (const auto& step : item.path) {
        const bool index = !step.key.empty() && step.key.find_first_not_of("-0123456789") == std::string::npos;
        expr = fmt::format("({}{}{}::{})", expr, step.as_text ? "->>" : "->", bind(step.key), index ? "int" : "text");
        key = step.key;
      }
      add(item.alias.empty() ? key : item.alias, expr);
    }
    // json_build_object takes at most 100 arguments (50 keys).
    if (keys > 50) return fail(400, "PGRST100", "\"failed to parse select\"", "more than 50 selected columns");
    return sql + ")";
  }

  api_result<std::string> order_limit(const query& q) {
    std::string sql;
    for (std::size_t i = 0; i < q.order.size(); ++i) {
      auto col = column(q.order[i].column);
      if (!col) return col;
      sql += i ? ", " : " order by ";
      sql += *col + (q.order[i].descending ? " desc" : " asc");
      if (q.order[i].nulls_first) sql += *q.order[i].nulls_first ? " nulls first" : " nulls last";
    }
    if (q.limit) sql += " limit " + bind(std::to_string(*q.limit)) + "::bigint";
    if (q.offset) sql += " offset " + bind(std::to_string(*q.offset)) + "::bigint";
    return sql;
  }

  // One row (total, page, body) over the rows of `source`: a read is a subquery, aggregated in
  // one pass (as PostgREST does); a data-changing statement (`dml`) must be a CTE,
  // `with pgrst_source as (<source>) select ...`. With `projection`, the rows are narrowed to
  // those columns first (the source returns extra ones).
  api_result<statement> wrap(const std::string& source, const query& q, const std::string& total,
                             const std::string& projection = {}, bool dml = true) {
    auto row = row_json(q);
    if (!row) return tl::unexpected(row.error());
    const std::string select =
        fmt::format("select {}, pg_catalog.count(*), coalesce(json_agg({}), '[]')::text from ", total, *row);
    if (!dml) {
      out.sql = select + "(" + source + ") pgrst_t";
    } else {
      const std::string rows =
          projection.empty() ? "pgrst_source pgrst_t" : "(select " + projection + " from pgrst_source) pgrst_t";
      out.sql = "with pgrst_source as (" + source + ") " + select + rows;
    }
    return std::move(out);
  }

  statement out;

private:
  const table_info& table_;
  std::string relation_;
};

// The columns an insert names: `columns=` when given, else the keys of every row in first-seen order.
api_result<std::vector<std::string>> insert_columns(const table_info& table, const query& q,
                                                    const nlohmann::json& rows) {
  std::vector<std::string> columns;
  if (q.columns) {
    columns = *q.columns;
  } else {
    std::set<std::string, std::less<>> seen;
    for (const auto& row : rows) {
      if (!row.is_object()) return fail(400, "PGRST102", "All object keys must match");
      for (const auto& [key, value] : row.items()) {
        if (seen.insert(key).second) columns.push_back(key);
      }
    }
  }
  for (const auto& c : columns) {
    if (!table.find(c)) {
      return fail(400, "PGRST204",
                  fmt::format("Could not find the '{}' column of '{}' in the schema cache", c, table.name));
    }
  }
  return columns;
}

std::string joined(const std::vector<std::string>& columns, std::string_view prefix) {
  std::string sql;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) sql += ", ";
    sql.append(prefix);
    sql += quote_ident(columns[i]);
  }
  return sql;
}

}  // namespace

api_result<statement> build_read(const table_info& table, const query& q, bool count) {
  builder b(table);
  auto where = b.where(q);
  if (!where) return tl::unexpected(where.error());
  auto tail = b.order_limit(q);
  if (!tail) return tl::unexpected(tail.error());
  const std::string total =
      count ? fmt::format("(select pg_catalog.count(*) from {}{})", b.relation(), *where) : "null::bigint";
  return b.wrap(fmt::format("select {}.* from {}{}{}", b.relation(), b.relation(), *where, *tail), q, total, {}, false);
}

api_result<statement> build_insert(const table_info& table, const query& q, const nlohmann::json& body,
                                   bool representation, resolution how) {
  const nlohmann::json rows = body.is_array() ? body : nlohmann::json::array({body});
  auto columns = insert_columns(table, q, rows);
  if (!columns) return tl::unexpected(columns.error());
  builder b(table);
  std::string sql;
  if (columns->empty()) {
    // {} inserts one row of defaults.
    if (rows.size() != 1) return fail(400, "PGRST102", "Empty objects can only be inserted one at a time");
    sql = fmt::format("insert into {} default values", b.relation());
  } else {
    sql = fmt::format("insert into {} ({}) select {} from json_populate_recordset(null::{}, {}::json) pgrst_body",
                      b.relation(), joined(*columns, ""), joined(*columns, "pgrst_body."), b.relation(),
                      b.bind(rows.dump()));
  }
  if (how != resolution::none) {
    std::vector<std::string> target = q.on_conflict.empty() ? table.primary_key : q.on_conflict;
    if (target.empty()) return fail(400, "PGRST100", "on_conflict is required: the table has no primary key");
    for (const auto& c : target) {
      if (!table.find(c)) return fail(400, "42703", fmt::format("column {}.{} does not exist", table.name, c));
    }
    sql += fmt::format(" on conflict ({}) ", joined(target, ""));
    if (how == resolution::ignore_duplicates || columns->empty()) {
      sql += "do nothing";
    } else {
      sql += "do update set ";
      for (std::size_t i = 0; i < columns->size(); ++i) {
        if (i) sql += ", ";
        sql += quote_ident((*columns)[i]) + " = excluded." + quote_ident((*columns)[i]);
      }
    }
  }
  if (how == resolution::merge_duplicates) {
    // xmax is 0 for a row this statement inserted, the updating transaction for a merged one:
    // the total column counts the inserted rows (PostgREST answers 200 when none was).
    std::vector<std::string> all;
    for (const auto& c : table.columns) all.push_back(c.name);
    return b.wrap(sql + " returning " + b.relation() + ".*, (" + b.relation() + ".xmax = 0) as pgrst_inserted", q,
                  "(select pg_catalog.count(*) from pgrst_source where pgrst_inserted)", joined(all, ""));
  }
  if (!representation) {
    b.out.sql = std::move(sql);
    return std::move(b.out);
  }
  return b.wrap(sql + " returning " + b.relation() + ".*", q, "null::bigint");
}

api_result<statement> build_update(const table_info& table, const query& q, const nlohmann::json& body,
                                   bool representation) {
  if (!body.is_object()) return fail(400, "PGRST102", "PATCH takes a JSON object");
  builder b(table);
  std::vector<std::string> columns;
  for (const auto& [key, value] : body.items()) {
    if (!table.find(key)) {
      return fail(400, "PGRST204",
                  fmt::format("Could not find the '{}' column of '{}' in the schema cache", key, table.name));
    }
    columns.push_back(key);
  }
  if (columns.empty()) return fail(400, "PGRST102", "PATCH needs at least one column to update");
  const std::string body_param = b.bind(body.dump());
  auto where = b.where(q);
  if (!where) return tl::unexpected(where.error());
  std::string set;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) set += ", ";
    set += quote_ident(columns[i]) + " = pgrst_body." + quote_ident(columns[i]);
  }
  std::string sql =
      fmt::format("update {} set {} from (select * from json_populate_record(null::{}, {}::json)) pgrst_body{}",
                  b.relation(), set, b.relation(), body_param, *where);
  if (!representation) {
    b.out.sql = std::move(sql);
    return std::move(b.out);
  }
  return b.wrap(sql + " returning " + b.relation() + ".*", q, "null::bigint");
}

api_result<statement> build_delete(const table_info& table, const query& q, bool representation) {
  builder b(table);
  auto where = b.where(q);
  if (!where) return tl::unexpected(where.error());
  std::string sql = fmt::format("delete from {}{}", b.relation(), *where);
  if (!representation) {
    b.out.sql = std::move(sql);
    return std::move(b.out);
  }
  return b.wrap(sql + " returning " + b.relation() + ".*", q, "null::bigint");
}

api_result<const function_info*> pick_function(const std::vector<function_info>& candidates,
                                               const nlohmann::json& args) {
  for (const auto& fn : candidates) {
    bool fits = true;
    for (const auto& [key, value] : args.items()) {
      bool found = false;
      for (const auto& arg : fn.args) found = found || arg.name == key;
      fits = fits && found;
    }
    const std::size_t required = fn.args.size() - static_cast<std::size_t>(std::max(0, fn.defaults));
    for (std::size_t i = 0; i < required && fits; ++i) fits = args.contains(fn.args[i].name);
    if (fits) return &fn;
  }
  std::string names;
  for (const auto& [key, value] : args.items()) names += (names.empty() ? "" : ", ") + key;
  const auto& any = candidates.front();
  return fail(404, "PGRST202",
              fmt::format("Could not find the function {}.{}({}) in the schema cache", any.schema, any.name, names),
              fmt::format("Searched for the function {}.{} with parameters {} or with a single unnamed json/jsonb "
                          "parameter, but no matches were found in the schema cache.",
                          any.schema, any.name, names));
}

api_result<statement> build_rpc(const function_info& fn, const nlohmann::json& args) {
  statement out;
  std::string call = quote_ident(fn.schema) + "." + quote_ident(fn.name) + "(";
  std::string record;
  bool first = true;
  for (const auto& arg : fn.args) {
    if (!args.contains(arg.name)) continue;
    if (!first) {
      call += ", ";
      record += ", ";
    }
    first = false;
    call += quote_ident(arg.name) + " => pgrst_args." + quote_ident(arg.name);
    record += quote_ident(arg.name) + " " + arg.type;  // type text from format_type()
  }
  call += ")";
  std::string from;
  if (!record.empty()) {
    out.params.emplace_back(args.dump());
    from = " from json_to_record($1::json) as pgrst_args(" + record + ")";
  }
  if (fn.returns_void) {
    out.sql = "select " + call + from;
  } else if (fn.returns_set) {
    if (from.empty()) {
      out.sql = fmt::format("select coalesce(json_agg(pgrst_t), '[]')::text from {} pgrst_t", call);
    } else {
      out.sql = fmt::format(
          "select coalesce(json_agg(pgrst_t), '[]')::text from json_to_record($1::json) as pgrst_args({}), "
          "lateral {} pgrst_t",
          record, call);
    }
  } else {
    out.sql = "select to_json(" + call + ")::text" + from;
  }
  return out;
}

}  // namespace substrate::rest
