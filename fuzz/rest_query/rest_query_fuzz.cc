// Feeds arbitrary bytes through the /rest/v1 query-string parser and, when it accepts them, the
// SQL builder over a fixed table: neither may crash, hang or exceed its bounds, and no request
// value may reach the SQL text (a ';' or '--' there would mean one did: values are parameters).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rest/query.h"
#include "rest/sql.h"

namespace {

const substrate::rest::table_info& table() {
  static const substrate::rest::table_info instance = [] {
    substrate::rest::table_info t;
    t.schema = "public";
    t.name = "todos";
    t.columns = {{"id", "bigint"}, {"title", "text"}, {"done", "boolean"}, {"meta", "jsonb"}};
    t.primary_key = {"id"};
    return t;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const substrate::rest::query_limits limits{};
  for (const bool rpc : {false, true}) {
    auto q = substrate::rest::parse_query(raw, rpc, limits);
    if (!q) {
      if (q.error().status < 400 || q.error().status >= 500) std::abort();
      continue;
    }
    if (q->select.size() > limits.select_items_max || q->order.size() > limits.order_items_max) std::abort();
    auto read = substrate::rest::build_read(table(), *q, true);
    // Every parameter is referenced as $n, and the text holds no request bytes beyond the
    // table's names (a value with a quote or semicolon can only be in the parameters).
    if (read && (read->sql.find(';') != std::string::npos || read->sql.find("--") != std::string::npos)) std::abort();
    (void)substrate::rest::build_delete(table(), *q, true);
    (void)substrate::rest::build_update(table(), *q, nlohmann::json{{"title", "x"}}, true);
  }
  return 0;
}
