#include "avro/schema.h"

#include <array>

namespace substrate::avro {

std::string_view kind_name(kind k) {
  static constexpr std::array<std::string_view, 14> names = {
      "null",   "boolean", "int",  "long",  "float", "double", "bytes",
      "string", "record",  "enum", "array", "map",   "union",  "fixed",
  };
  return names[static_cast<std::size_t>(k)];
}

std::string_view logical_type_name(logical_type t) {
  switch (t) {
    case logical_type::none:
      return "";
    case logical_type::decimal:
      return "decimal";
    case logical_type::uuid:
      return "uuid";
    case logical_type::date:
      return "date";
    case logical_type::time_millis:
      return "time-millis";
    case logical_type::time_micros:
      return "time-micros";
    case logical_type::timestamp_millis:
      return "timestamp-millis";
    case logical_type::timestamp_micros:
      return "timestamp-micros";
    case logical_type::local_timestamp_millis:
      return "local-timestamp-millis";
    case logical_type::local_timestamp_micros:
      return "local-timestamp-micros";
    case logical_type::duration:
      return "duration";
  }
  return "";
}

int node::field_index(std::string_view field_name) const {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field_name) return static_cast<int>(i);
  }
  return -1;
}

int node::symbol_index(std::string_view symbol) const {
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    if (symbols[i] == symbol) return static_cast<int>(i);
  }
  return -1;
}

std::optional<node_id> schema::find(std::string_view full_name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].named() && nodes_[i].full_name == full_name) return static_cast<node_id>(i);
  }
  return std::nullopt;
}

std::string_view schema::branch_name(node_id id) const {
  const node& n = nodes_[id];
  return n.named() ? std::string_view(n.full_name) : kind_name(n.type);
}

}  // namespace substrate::avro
