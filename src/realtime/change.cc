#include "realtime/change.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace substrate::realtime {
namespace {

using json = nlohmann::json;

const pgoutput::tuple* row_tuple(const change& c) {
  if (c.type == "DELETE") return c.old_tuple ? &*c.old_tuple : nullptr;
  return &c.new_tuple;
}

json tuple_json(const change& c, const pgoutput::tuple& t, const std::vector<std::string>& selectable, bool key_only) {
  json out = json::object();
  const auto& columns = c.table->rel.columns;
  for (std::size_t i = 0; i < columns.size() && i < t.size(); ++i) {
    if (key_only && !columns[i].key) continue;
    if (std::find(selectable.begin(), selectable.end(), columns[i].name) == selectable.end()) continue;
    switch (t[i].type) {
      case pgoutput::value::kind::null:
        out[columns[i].name] = nullptr;
        break;
      case pgoutput::value::kind::unchanged:
        break;  // an unchanged TOASTed value is not in the WAL: left out
      case pgoutput::value::kind::text:
        out[columns[i].name] = text_to_json(t[i].text, c.table->type_names[i]);
        break;
    }
  }
  return out;
}

}  // namespace

std::string format_commit_timestamp(std::int64_t unix_us) {
  std::int64_t seconds = unix_us / 1'000'000;
  std::int64_t micros = unix_us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, micros / 1000);
}

json text_to_json(const std::string& text, std::string_view type) {
  if (type == "bool") {
    if (text == "t") return true;
    if (text == "f") return false;
    return text;
  }
  if (type == "int2" || type == "int4" || type == "int8" || type == "oid") {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(text, &used);
      if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
    return text;
  }
  if (type == "float4" || type == "float8" || type == "numeric") {
    json v = json::parse(text, nullptr, false);  // NaN / Infinity stay strings, as to_jsonb
    if (!v.is_discarded() && v.is_number()) return v;
    return text;
  }
  if (type == "json" || type == "jsonb") {
    json v = json::parse(text, nullptr, false);
    if (!v.is_discarded()) return v;
    return text;
  }
  if (type == "timestamptz" || type == "timestamp") {
    // "2024-05-01 12:00:00.123+00" -> "2024-05-01T12:00:00.123+00:00"
    std::string out = text;
    if (out.size() > 10 && out[10] == ' ') out[10] = 'T';
    if (type == "timestamptz" && out.size() >= 3) {
      const auto sign = out.find_last_of("+-");
      if (sign != std::string::npos && sign > 10 && out.size() - sign == 3) out += ":00";
    }
    return out;
  }
  return text;
}

std::optional<std::string> column_text(const change& c, std::string_view column) {
  const auto* t = row_tuple(c);
  if (!t) return std::nullopt;
  const auto& columns = c.table->rel.columns;
  for (std::size_t i = 0; i < columns.size() && i < t->size(); ++i) {
    if (columns[i].name != column) continue;
    if ((*t)[i].type != pgoutput::value::kind::text) return std::nullopt;
    return (*t)[i].text;
  }
  return std::nullopt;
}

std::vector<key_value> row_key(const change& c) {
  std::vector<key_value> out;
  const auto* t = row_tuple(c);
  if (!t) return out;
  const auto& columns = c.table->rel.columns;
  for (std::size_t i = 0; i < columns.size() && i < t->size(); ++i) {
    if (!columns[i].key) continue;
    if ((*t)[i].type != pgoutput::value::kind::text) return {};  // a NULL or missing key: not checkable
    out.push_back({columns[i].name, (*t)[i].text});
  }
  return out;
}

json change_data(const change& c, const std::vector<std::string>& selectable) {
  const auto& rel = c.table->rel;
  json data{{"schema", rel.schema},
            {"table", rel.name},
            {"commit_timestamp", format_commit_timestamp(c.commit_time_us)},
            {"type", c.type}};
  json columns = json::array();
  for (std::size_t i = 0; i < rel.columns.size(); ++i) {
    if (std::find(selectable.begin(), selectable.end(), rel.columns[i].name) == selectable.end()) continue;
    columns.push_back(json{{"name", rel.columns[i].name}, {"type", c.table->type_names[i]}});
  }
  data["columns"] = std::move(columns);
  const bool key_selectable = std::all_of(rel.columns.begin(), rel.columns.end(), [&](const pgoutput::column& col) {
    return !col.key || std::find(selectable.begin(), selectable.end(), col.name) != selectable.end();
  });
  if (!key_selectable) {
    data["errors"] = json::array({"Error 401: Unauthorized"});
    return data;
  }
  if (c.type != "DELETE") data["record"] = tuple_json(c, c.new_tuple, selectable, false);
  if (c.type == "UPDATE") {
    // Default replica identity: the key columns, from the old tuple when the key changed.
    data["old_record"] = c.old_tuple ? tuple_json(c, *c.old_tuple, selectable, c.old_key_only)
                                     : tuple_json(c, c.new_tuple, selectable, true);
  }
  if (c.type == "DELETE" && c.old_tuple) {
    // With RLS only the primary key: the rest of a deleted row cannot be checked (4.4).
    data["old_record"] = tuple_json(c, *c.old_tuple, selectable, c.old_key_only || c.table->rls_enabled);
  }
  data["errors"] = nullptr;
  return data;
}

}  // namespace substrate::realtime
