#include "rest/query.h"

#include <array>
#include <charconv>

#include <fmt/format.h>

namespace substrate::rest {

tl::unexpected<api_error> fail(int status, std::string code, std::string message, std::string details,
                               std::string hint) {
  return tl::unexpected<api_error>(
      api_error{status, std::move(code), std::move(message), std::move(details), std::move(hint)});
}

namespace {

tl::unexpected<api_error> parse_failure(std::string_view what, std::string_view text, std::string_view why) {
  return fail(400, "PGRST100", fmt::format("\"failed to parse {} ({})\"", what, text), std::string(why));
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Splits at top-level commas: not inside double quotes (with backslash escapes) or parentheses.
// nullopt on unbalanced quotes or parentheses.
std::optional<std::vector<std::string_view>> split_top(std::string_view text) {
  std::vector<std::string_view> parts;
  int depth = 0;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return std::nullopt;
    } else if (c == ',' && depth == 0) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (quoted || depth != 0) return std::nullopt;
  parts.push_back(text.substr(start));
  return parts;
}

// `"x\"y"` -> x"y; other text unchanged. nullopt on a malformed quoted string.
std::optional<std::string> unquote(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    if (!text.empty() && text.front() == '"') return std::nullopt;
    return std::string(text);
  }
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 2 >= text.size()) return std::nullopt;
      c = text[++i];
    } else if (c == '"') {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

// A column name, optionally double-quoted.
std::optional<std::string> column_name(std::string_view text) {
  auto name = unquote(trim(text));
  if (!name || !valid_name(*name)) return std::nullopt;
  return name;
}

struct op_name {
  std::string_view text;
  filter_op op;
};
constexpr std::array<op_name, 16> operators = {{{"eq", filter_op::eq},
                                                {"neq", filter_op::neq},
                                                {"gt", filter_op::gt},
                                                {"gte", filter_op::gte},
                                                {"lt", filter_op::lt},
                                                {"lte", filter_op::lte},
                                                {"like", filter_op::like},
                                                {"ilike", filter_op::ilike},
                                                {"match", filter_op::match},
                                                {"imatch", filter_op::imatch},
                                                {"is", filter_op::is},
                                                {"isdistinct", filter_op::isdistinct},
                                                {"in", filter_op::in},
                                                {"cs", filter_op::cs},
                                                {"cd", filter_op::cd},
                                                {"ov", filter_op::ov}}};

std::optional<std::int64_t> non_negative(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0) return std::nullopt;
  return value;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

api_result<condition> parse_logic_depth(bool any, bool negate, std::string_view text, const query_limits& limits,
                                        std::size_t depth, std::size_t& budget);

// One item of an or=(...)/and=(...) list: a nested group or `col.[not.]op.value`.
api_result<condition> parse_logic_item(std::string_view item, const query_limits& limits, std::size_t depth,
                                       std::size_t& budget) {
  bool negate = false;
  std::string_view rest = item;
  if (rest.starts_with("not.")) {
    negate = true;
    rest.remove_prefix(4);
  }
  for (const auto& [prefix, any] : {std::pair<std::string_view, bool>{"or(", true}, {"and(", false}}) {
    if (rest.starts_with(prefix)) {
      if (!rest.ends_with(')')) return parse_failure("logic tree", item, "unbalanced parentheses");
      return parse_logic_depth(any, negate, rest.substr(prefix.size() - 1), limits, depth + 1, budget);
    }
  }
  const auto dot = item.find('.');
  if (dot == std::string_view::npos) return parse_failure("logic tree", item, "expected column.operator.value");
  auto column = column_name(item.substr(0, dot));
  if (!column) return parse_failure("logic tree", item, "invalid column name");
  std::string_view operand = item.substr(dot + 1);
  auto leaf = parse_filter(std::move(*column), operand, limits);
  if (!leaf) return tl::unexpected(leaf.error());
  // Inside a logic tree, a quoted value is unquoted (in.(...) lists unquote their own items).
  if (leaf->op != filter_op::in && leaf->op != filter_op::is && leaf->value.starts_with('"')) {
    auto value = unquote(leaf->value);
    if (!value) return parse_failure("logic tree", item, "malformed quoted value");
    leaf->value = std::move(*value);
  }
  condition c;
  c.leaf = std::move(*leaf);
  return c;
}

api_result<condition> parse_logic_depth(bool any, bool negate, std::string_view text, const query_limits& limits,
                                        std::size_t depth, std::size_t& budget) {
  if (depth > limits.logic_depth_max) {
    return fail(400, "PGRST100", "\"failed to parse logic tree\"",
                fmt::format("or/and groups nest deeper than {}", limits.logic_depth_max));
  }
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    return parse_failure("logic tree", text, "expected (...)");
  }
  auto items = split_top(text.substr(1, text.size() - 2));
  if (!items) return parse_failure("logic tree", text, "unbalanced quotes or parentheses");
  condition group;
  group.type = any ? condition::kind::any : condition::kind::all;
  group.negate = negate;
  for (const auto item : *items) {
    if (budget == 0) {
      return fail(400, "PGRST100", "\"failed to parse logic tree\"",
                  fmt::format("more than {} conditions", limits.conditions_max));
    }
    --budget;
    auto child = parse_logic_item(trim(item), limits, depth, budget);
    if (!child) return child;
    group.children.push_back(std::move(*child));
  }
  return group;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form decoding: '+' is a space, %XX an escaped byte.
std::optional<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_digit(text[i + 1]);
      const int low = hex_digit(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

api_result<std::vector<std::pair<std::string, std::string>>> decode_form(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    const std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = form_decode(part.substr(0, eq));
    auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!name || !value) return fail(400, "PGRST100", "malformed percent-encoding in the query string");
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

api_result<std::vector<select_item>> parse_select(std::string_view text, const query_limits& limits) {
  std::vector<select_item> items;
  auto parts = split_top(text);
  if (!parts) return parse_failure("select", text, "unbalanced quotes or parentheses");
  for (auto part : *parts) {
    part = trim(part);
    if (part.empty()) return parse_failure("select", text, "empty select item");
    if (part.find('(') != std::string_view::npos) {
      return fail(400, "PGRST100", fmt::format("\"failed to parse select ({})\"", text),
                  "embedded resources are not supported by this server");
    }
    select_item item;
    // alias:column (a single colon; `::` is a cast).
    const auto colon = part.find(':');
    if (colon != std::string_view::npos && (colon + 1 >= part.size() || part[colon + 1] != ':')) {
      auto alias = column_name(part.substr(0, colon));
      if (!alias) return parse_failure("select", text, "invalid alias");
      item.alias = std::move(*alias);
      part = part.substr(colon + 1);
    }
    if (part.find("::") != std::string_view::npos) {
      return fail(400, "PGRST100", fmt::format("\"failed to parse select ({})\"", text),
                  "casts are not supported by this server");
    }
    const auto arrow = part.find("->");
    std::string_view column_text = part.substr(0, arrow);
    if (column_text == "*") {
      if (!item.alias.empty() || arrow != std::string_view::npos) return parse_failure("select", text, "bad *");
      item.column.assign(1, '*');
    } else {
      auto column = column_name(column_text);
      if (!column) return parse_failure("select", text, "invalid column name");
      item.column = std::move(*column);
    }
    std::string_view path = arrow == std::string_view::npos ? std::string_view{} : part.substr(arrow);
    while (!path.empty()) {
      json_step step;
      if (path.starts_with("->>")) {
        step.as_text = true;
        path.remove_prefix(3);
      } else if (path.starts_with("->")) {
        path.remove_prefix(2);
      } else {
        return parse_failure("select", text, "bad JSON path");
      }
      const auto next = path.find("->");
      auto key = unquote(path.substr(0, next));
      if (!key || key->empty() || !valid_name(*key)) return parse_failure("select", text, "bad JSON key");
      step.key = std::move(*key);
      item.path.push_back(std::move(step));
      path = next == std::string_view::npos ? std::string_view{} : path.substr(next);
    }
    items.push_back(std::move(item));
    if (items.size() > limits.select_items_max) {
      return fail(400, "PGRST100", fmt::format("\"failed to parse select ({})\"", text),
                  fmt::format("more than {} select items", limits.select_items_max));
    }
  }
  return items;
}

api_result<filter> parse_filter(std::string column, std::string_view text, const query_limits& limits) {
  filter f;
  f.column = std::move(column);
  std::string_view rest = text;
  if (rest.starts_with("not.")) {
    f.negate = true;
    rest.remove_prefix(4);
  }
  const auto dot = rest.find('.');
  const std::string_view op = rest.substr(0, dot);
  bool known = false;
  for (const auto& candidate : operators) {
    if (candidate.text == op) {
      f.op = candidate.op;
      known = true;
    }
  }
  if (!known || dot == std::string_view::npos) {
    return fail(400, "PGRST100", fmt::format("\"failed to parse filter ({})\"", text),
                fmt::format("unknown or unsupported operator '{}'", op));
  }
  const std::string_view value = rest.substr(dot + 1);
  switch (f.op) {
    case filter_op::is: {
      f.value = lower(value);
      if (f.value != "null" && f.value != "not_null" && f.value != "true" && f.value != "false" &&
          f.value != "unknown") {
        return fail(400, "PGRST100", fmt::format("\"failed to parse filter ({})\"", text),
                    "is. takes null, not_null, true, false or unknown");
      }
      break;
    }
    case filter_op::in: {
      if (value.size() < 2 || value.front() != '(' || value.back() != ')') {
        return fail(400, "PGRST100", fmt::format("\"failed to parse filter ({})\"", text), "in. takes a list (a,b)");
      }
      const std::string_view inner = value.substr(1, value.size() - 2);
      if (!inner.empty()) {
        // A cheap bound before splitting: every item needs at least one comma but the last.
        std::size_t commas = 0;
        for (const char c : inner) commas += c == ',' ? 1 : 0;
        if (commas >= limits.in_list_max) {
          return fail(400, "PGRST100", fmt::format("\"failed to parse filter ({}...)\"", text.substr(0, 32)),
                      fmt::format("in.() lists take at most {} items", limits.in_list_max));
        }
        auto items = split_top(inner);
        if (!items) return fail(400, "PGRST100", "\"failed to parse filter\"", "unbalanced quotes in in.(...)");
        for (const auto item : *items) {
          auto unquoted = unquote(trim(item));
          if (!unquoted) return fail(400, "PGRST100", "\"failed to parse filter\"", "malformed quoted item");
          f.list.push_back(std::move(*unquoted));
        }
      }
      break;
    }
    case filter_op::like:
    case filter_op::ilike: {
      f.value = std::string(value);
      for (auto& c : f.value) {
        if (c == '*') c = '%';
      }
      break;
    }
    default:
      f.value = std::string(value);
  }
  return f;
}

api_result<condition> parse_logic(bool any, bool negate, std::string_view text, const query_limits& limits) {
  std::size_t budget = limits.conditions_max;
  return parse_logic_depth(any, negate, text, limits, 1, budget);
}

api_result<std::vector<order_item>> parse_order(std::string_view text, const query_limits& limits) {
  std::vector<order_item> out;
  auto parts = split_top(text);
  if (!parts) return parse_failure("order", text, "unbalanced quotes");
  for (auto part : *parts) {
    part = trim(part);
    order_item item;
    // The column may be quoted and contain dots; modifiers follow the last unquoted dots.
    std::vector<std::string_view> modifiers;
    while (true) {
      const auto dot = part.rfind('.');
      if (dot == std::string_view::npos) break;
      const auto word = part.substr(dot + 1);
      if (word != "asc" && word != "desc" && word != "nullsfirst" && word != "nullslast") break;
      modifiers.insert(modifiers.begin(), word);
      part = part.substr(0, dot);
    }
    auto column = column_name(part);
    if (!column) return parse_failure("order", text, "invalid column name");
    item.column = std::move(*column);
    if (modifiers.size() > 2) return parse_failure("order", text, "too many modifiers");
    for (const auto word : modifiers) {
      if (word == "desc") item.descending = true;
      if (word == "nullsfirst") item.nulls_first = true;
      if (word == "nullslast") item.nulls_first = false;
    }
    out.push_back(std::move(item));
    if (out.size() > limits.order_items_max) return parse_failure("order", text, "too many order items");
  }
  return out;
}

api_result<std::vector<std::string>> parse_column_list(std::string_view text) {
  std::vector<std::string> out;
  auto parts = split_top(text);
  if (!parts) return parse_failure("columns", text, "unbalanced quotes");
  for (const auto part : *parts) {
    auto column = column_name(part);
    if (!column) return parse_failure("columns", text, "invalid column name");
    out.push_back(std::move(*column));
  }
  return out;
}

api_result<query> parse_query(std::string_view raw, bool rpc, const query_limits& limits) {
  auto params = decode_form(raw);
  if (!params) return tl::unexpected(params.error());
  query q;
  q.select.push_back(select_item{"*", {}, {}});
  std::size_t budget = limits.conditions_max;
  for (auto& [name, value] : *params) {
    if (name == "select") {
      auto items = parse_select(value, limits);
      if (!items) return tl::unexpected(items.error());
      q.select = std::move(*items);
    } else if (name == "order") {
      auto items = parse_order(value, limits);
      if (!items) return tl::unexpected(items.error());
      for (auto& item : *items) q.order.push_back(std::move(item));
      if (q.order.size() > limits.order_items_max) return parse_failure("order", value, "too many order items");
    } else if (name == "limit" || name == "offset") {
      auto number = non_negative(value);
      if (!number) {
        return fail(400, "PGRST100", fmt::format("\"failed to parse {} ({})\"", name, value),
                    "expected a non-negative integer");
      }
      (name == "limit" ? q.limit : q.offset) = *number;
    } else if (name == "on_conflict") {
      auto columns = parse_column_list(value);
      if (!columns) return tl::unexpected(columns.error());
      q.on_conflict = std::move(*columns);
    } else if (name == "columns") {
      auto columns = parse_column_list(value);
      if (!columns) return tl::unexpected(columns.error());
      q.columns = std::move(*columns);
    } else if (name == "or" || name == "and" || name == "not.or" || name == "not.and") {
      if (budget == 0) return fail(400, "PGRST100", "too many filters");
      --budget;
      auto group = parse_logic(name.ends_with("or"), name.starts_with("not."), value, limits);
      if (!group) return tl::unexpected(group.error());
      q.where.push_back(std::move(*group));
    } else if (name.find('.') != std::string::npos &&
               (name.ends_with(".order") || name.ends_with(".limit") || name.ends_with(".offset") ||
                name.ends_with(".or") || name.ends_with(".and"))) {
      return fail(400, "PGRST100", fmt::format("\"failed to parse {}\"", name),
                  "embedded resources are not supported by this server");
    } else if (rpc) {
      q.arguments.emplace_back(std::move(name), std::move(value));
    } else {
      if (budget == 0) return fail(400, "PGRST100", "too many filters");
      --budget;
      auto column = column_name(name);
      if (!column) return fail(400, "PGRST100", fmt::format("\"failed to parse filter ({})\"", name), "bad column");
      auto leaf = parse_filter(std::move(*column), value, limits);
      if (!leaf) return tl::unexpected(leaf.error());
      condition c;
      c.leaf = std::move(*leaf);
      q.where.push_back(std::move(c));
    }
  }
  return q;
}

std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace substrate::rest
