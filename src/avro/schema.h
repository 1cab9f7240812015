#pragma once
// An Avro schema (specification 1.11) parsed from its JSON text, as an immutable graph of nodes.
//
// Nodes live in one vector and refer to each other by index (`node_id`), so a schema copies and
// moves as a value and a named type referenced twice, or recursively, is one node. The plain
// primitives ("int", "string", ...) are shared nodes; a primitive with attributes (a logical type,
// custom properties) gets a node of its own.
//
// Parsing validates everything the specification requires: names and namespaces, unique field
// names and enum symbols, union rules (no nested unions, no two branches of the same unnamed
// type), fixed sizes, and every field default against its type (a union default against the
// first branch). Logical types that do not fit their underlying type (decimal with scale above
// precision, uuid on an int) are ignored as the specification asks, but stay as properties so
// the schema renders as written.
//
// Thread-safety: a parsed schema is immutable; share it freely (e.g. `shared_ptr<const schema>`).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace substrate::avro {

enum class kind : std::uint8_t {
  null_,
  boolean,
  int_,
  long_,
  float_,
  double_,
  bytes,
  string,
  record,
  enum_,
  array,
  map,
  union_,
  fixed,
};

// "null", "boolean", ..., "record", "enum", "array", "map", "union", "fixed".
std::string_view kind_name(kind k);

enum class logical_type : std::uint8_t {
  none,
  decimal,           // bytes or fixed
  uuid,              // string
  date,              // int: days since 1970-01-01
  time_millis,       // int
  time_micros,       // long
  timestamp_millis,  // long
  timestamp_micros,  // long
  local_timestamp_millis,
  local_timestamp_micros,
  duration,  // fixed(12)
};

// The logicalType attribute value ("timestamp-millis", ...); "" for none.
std::string_view logical_type_name(logical_type t);

using node_id = std::uint32_t;

enum class field_order : std::uint8_t { ascending, descending, ignore };

// An attribute beyond those Avro defines for the node (including logicalType, precision and
// scale), in document order, as minified JSON. Kept so the schema renders as it was written.
struct property {
  std::string name;
  std::string json;
};

struct field {
  std::string name;
  node_id type = 0;
  std::optional<std::string> doc;
  std::vector<std::string> aliases;
  field_order order = field_order::ascending;
  bool has_default = false;
  std::string default_json;    // the default as written, minified
  std::string default_binary;  // the default encoded in Avro binary against `type`
  std::vector<property> properties;
  std::string json_key;  // `"name":`, what the JSON decoder writes before the value
};

struct node {
  kind type = kind::null_;
  logical_type logical = logical_type::none;
  std::int32_t precision = 0;  // decimal
  std::int32_t scale = 0;      // decimal

  // Named types (record, enum, fixed). `space` is empty in the null namespace.
  std::string name;
  std::string space;
  std::string full_name;
  std::optional<std::string> doc;
  std::vector<std::string> aliases;  // full names

  std::vector<field> fields;         // record
  std::vector<std::string> symbols;  // enum
  std::int32_t enum_default = -1;    // enum: index of the default symbol, -1 when none
  node_id items = 0;                 // array items, map values
  std::vector<node_id> branches;     // union
  std::size_t size = 0;              // fixed
  std::vector<property> properties;

  // The smallest number of bytes any datum of this type encodes to; bounds block counts when
  // decoding hostile input. 0 for null, empty records and fixed(0).
  std::size_t min_bytes = 0;

  bool named() const { return type == kind::record || type == kind::enum_ || type == kind::fixed; }
  // Index of the field / symbol with this name, or -1.
  int field_index(std::string_view field_name) const;
  int symbol_index(std::string_view symbol) const;
};

struct parse_options {
  // JSON nesting of the schema text; deeper schemas are rejected, which bounds the recursion of
  // the parser and of everything that walks a schema.
  std::size_t depth_max = 64;
};

class schema {
public:
  [[nodiscard]] static result<schema> parse(std::string_view json, const parse_options& options = {});

  node_id root() const { return root_; }
  const node& root_node() const { return nodes_[root_]; }
  const node& at(node_id id) const { return nodes_[id]; }
  std::size_t node_count() const { return nodes_.size(); }
  // The named type with this full name, if the schema defines one.
  std::optional<node_id> find(std::string_view full_name) const;

  // The name a union branch of this node is known by in the Avro JSON encoding ({"name": value}):
  // the full name of a named type, else the type name ("string", "array", ...).
  std::string_view branch_name(node_id id) const;

private:
  friend class schema_builder;
  std::vector<node> nodes_;
  node_id root_ = 0;
};

}  // namespace substrate::avro
