#include "rest/schema_cache.h"

#include <nlohmann/json.hpp>

#include "db/connection.h"
#include "rest/query.h"

namespace substrate::rest {

const table_info* schema_cache::table(std::string_view schema, std::string_view name) const {
  std::string key;
  key.reserve(schema.size() + name.size() + 1);
  key.append(schema).append(".").append(name);
  const auto it = tables.find(key);
  return it == tables.end() ? nullptr : &it->second;
}

const std::vector<function_info>* schema_cache::function(std::string_view schema, std::string_view name) const {
  std::string key;
  key.append(schema).append(".").append(name);
  const auto it = functions.find(key);
  return it == functions.end() ? nullptr : &it->second;
}

namespace {

constexpr const char* columns_sql = R"sql(
select n.nspname, c.relname, c.relkind in ('v', 'm'), a.attname, format_type(a.atttypid, a.atttypmod)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = any($1::text[]) and c.relkind in ('r', 'v', 'm', 'f', 'p')
order by n.nspname, c.relname, a.attnum)sql";

constexpr const char* keys_sql = R"sql(
select n.nspname, c.relname, a.attname
from pg_catalog.pg_index i
join pg_catalog.pg_class c on c.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join lateral unnest(i.indkey) with ordinality k(attnum, position) on true
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
where i.indisprimary and n.nspname = any($1::text[])
order by n.nspname, c.relname, k.position)sql";

constexpr const char* functions_sql = R"sql(
select n.nspname, p.proname, p.pronargdefaults, p.proretset,
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype, p.provolatile = 'v',
       coalesce((select json_agg(json_build_object('name', coalesce(p.proargnames[u.o], ''),
                                                   'type', format_type(u.t, null)) order by u.o)
                 from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, o)
                 where p.proargmodes is null or p.proargmodes[u.o] in ('i', 'b')), '[]')::text
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname = any($1::text[]) and p.prokind = 'f'
  and p.prorettype not in ('pg_catalog.trigger'::pg_catalog.regtype, 'pg_catalog.event_trigger'::pg_catalog.regtype)
  and (p.proargmodes is null or not ('v' = any(p.proargmodes))))sql";

}  // namespace

result<schema_cache> load_schema_cache(db::connection& connection, const std::vector<std::string>& schemas) {
  schema_cache cache;
  cache.schemas = schemas;
  const std::vector<std::optional<std::string>> params{array_literal(schemas)};
  auto columns = connection.exec(columns_sql, params);
  if (!columns) return tl::unexpected(columns.error());
  for (int row = 0; row < columns->rows(); ++row) {
    const std::string schema = columns->value(row, 0);
    const std::string name = columns->value(row, 1);
    auto& table = cache.tables[schema + "." + name];
    table.schema = schema;
    table.name = name;
    table.is_view = columns->value(row, 2) == "t";
    table.columns.push_back(column_info{columns->value(row, 3), columns->value(row, 4)});
  }
  auto keys = connection.exec(keys_sql, params);
  if (!keys) return tl::unexpected(keys.error());
  for (int row = 0; row < keys->rows(); ++row) {
    const auto it = cache.tables.find(keys->value(row, 0) + "." + keys->value(row, 1));
    if (it != cache.tables.end()) it->second.primary_key.push_back(keys->value(row, 2));
  }
  auto functions = connection.exec(functions_sql, params);
  if (!functions) return tl::unexpected(functions.error());
  for (int row = 0; row < functions->rows(); ++row) {
    function_info f;
    f.schema = functions->value(row, 0);
    f.name = functions->value(row, 1);
    f.defaults = std::stoi(functions->value(row, 2));
    f.returns_set = functions->value(row, 3) == "t";
    f.returns_void = functions->value(row, 4) == "t";
    f.is_volatile = functions->value(row, 5) == "t";
    for (const auto& arg : nlohmann::json::parse(functions->value(row, 6))) {
      f.args.push_back(function_arg{arg.at("name").get<std::string>(), arg.at("type").get<std::string>()});
    }
    cache.functions[f.schema + "." + f.name].push_back(std::move(f));
  }
  return cache;
}

}  // namespace substrate::rest
