// Schema JSON -> node graph. See schema.h for what is validated.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "avro/encode_element.h"
#include "avro/errc.h"
#include "avro/schema.h"

namespace substrate::avro {

namespace {

namespace dom = simdjson::dom;

constexpr std::array<std::string_view, 8> primitive_names = {"null",  "boolean", "int",   "long",
                                                             "float", "double",  "bytes", "string"};

std::optional<kind> primitive_kind(std::string_view name) {
  for (std::size_t i = 0; i < primitive_names.size(); ++i) {
    if (primitive_names[i] == name) return static_cast<kind>(i);
  }
  return std::nullopt;
}

bool valid_name_part(std::string_view part) {
  if (part.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(part[0])) return false;
  return std::all_of(part.begin() + 1, part.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

bool valid_full_name(std::string_view name) {
  std::size_t start = 0;
  while (true) {
    auto dot = name.find('.', start);
    if (!valid_name_part(name.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string_view json_type_name(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "array";
    case dom::element_type::OBJECT:
      return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "number";
    case dom::element_type::STRING:
      return "string";
    case dom::element_type::BOOL:
      return "boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

auto schema_error(std::string context) {
  return make_error(errc::invalid_schema, std::move(context));
}

}  // namespace

// Builds the node graph of one schema document. Lives for one parse() call.
class schema_builder {
public:
  explicit schema_builder(const parse_options& options) : options_(options) {
    for (std::size_t i = 0; i < primitive_names.size(); ++i) {
      node n;
      n.type = static_cast<kind>(i);
      out_.nodes_.push_back(std::move(n));
    }
  }

  result<schema> build(std::string_view text) {
    dom::element root;
    if (auto err = parser_.parse(text.data(), text.size()).get(root)) {
      return schema_error(fmt::format("not JSON: {}", simdjson::error_message(err)));
    }
    auto id = parse_node(root, "", 0);
    if (!id) return tl::unexpected(id.error());
    out_.root_ = *id;
    for (auto& p : pending_defaults_) {
      if (auto r = encode_default(p); !r) return tl::unexpected(r.error());
    }
    compute_min_bytes();
    return std::move(out_);
  }

private:
  struct pending_default {
    node_id record;
    std::size_t field;
    dom::element value;
  };

  result<node_id> parse_node(dom::element el, const std::string& space, std::size_t depth) {
    if (depth > options_.depth_max) {
      return make_error(errc::too_deep, fmt::format("schema nests deeper than {}", options_.depth_max));
    }
    switch (el.type()) {
      case dom::element_type::STRING:
        return resolve_reference(std::string_view(el.get_string().value_unsafe()), space);
      case dom::element_type::ARRAY:
        return parse_union(el.get_array().value_unsafe(), space, depth);
      case dom::element_type::OBJECT:
        return parse_object(el.get_object().value_unsafe(), space, depth);
      default:
        return schema_error(
            fmt::format("a schema is a string, an object or an array, not {}", json_type_name(el.type())));
    }
  }

  result<node_id> resolve_reference(std::string_view name, const std::string& space) {
    if (auto p = primitive_kind(name)) return static_cast<node_id>(*p);
    if (name.find('.') == std::string_view::npos && !space.empty()) {
      if (auto it = names_.find(space + "." + std::string(name)); it != names_.end()) return it->second;
    }
    if (auto it = names_.find(std::string(name)); it != names_.end()) return it->second;
    return schema_error(fmt::format("unknown type \"{}\"", name));
  }

  result<node_id> parse_union(dom::array arr, const std::string& space, std::size_t depth) {
    node u;
    u.type = kind::union_;
    for (dom::element branch : arr) {
      auto id = parse_node(branch, space, depth + 1);
      if (!id) return id;
      const node& b = out_.nodes_[*id];
      if (b.type == kind::union_) return schema_error("a union may not contain a union directly");
      for (node_id other : u.branches) {
        const node& o = out_.nodes_[other];
        bool same = b.named() ? (o.named() && o.full_name == b.full_name) : (o.type == b.type);
        if (same) {
          return schema_error(fmt::format("union has two branches of type {}",
                                          b.named() ? b.full_name : std::string(kind_name(b.type))));
        }
      }
      u.branches.push_back(*id);
    }
    if (u.branches.empty()) return schema_error("a union needs at least one branch");
    return add(std::move(u));
  }

  node_id add(node n) {
    out_.nodes_.push_back(std::move(n));
    return static_cast<node_id>(out_.nodes_.size() - 1);
  }

  // Attributes Avro defines for each kind of object schema; everything else is a property.
  static bool reserved(kind k, std::string_view key) {
    if (key == "type") return true;
    switch (k) {
      case kind::record:
        return key == "name" || key == "namespace" || key == "doc" || key == "fields" || key == "aliases";
      case kind::enum_:
        return key == "name" || key == "namespace" || key == "doc" || key == "symbols" || key == "aliases" ||
               key == "default";
      case kind::fixed:
        return key == "name" || key == "namespace" || key == "doc" || key == "size" || key == "aliases";
      case kind::array:
        return key == "items";
      case kind::map:
        return key == "values";
      default:
        return false;
    }
  }

  static void collect_properties(dom::object obj, kind k, std::vector<property>& props) {
    for (auto [key, value] : obj) {
      if (!reserved(k, key)) props.push_back({std::string(key), simdjson::minify(value)});
    }
  }

  result<node_id> parse_object(dom::object obj, const std::string& space, std::size_t depth) {
    dom::element type_el;
    if (obj["type"].get(type_el)) return schema_error("a schema object needs a \"type\"");
    if (type_el.type() != dom::element_type::STRING) {
      // {"type": {...}} or {"type": [...]}: the nested schema is the type (avsc and Java accept it).
      return parse_node(type_el, space, depth + 1);
    }
    std::string_view type_name = type_el.get_string().value_unsafe();
    if (auto p = primitive_kind(type_name)) {
      node n;
      n.type = *p;
      collect_properties(obj, n.type, n.properties);
      if (n.properties.empty()) return static_cast<node_id>(*p);
      apply_logical_type(n, obj);
      return add(std::move(n));
    }
    if (type_name == "record" || type_name == "error") return parse_record(obj, space, depth);
    if (type_name == "enum") return parse_enum(obj, space);
    if (type_name == "fixed") return parse_fixed(obj, space);
    if (type_name == "array" || type_name == "map") {
      node n;
      n.type = type_name == "array" ? kind::array : kind::map;
      const char* key = n.type == kind::array ? "items" : "values";
      dom::element inner;
      if (obj[key].get(inner)) return schema_error(fmt::format("{} needs \"{}\"", type_name, key));
      auto id = parse_node(inner, space, depth + 1);
      if (!id) return id;
      n.items = *id;
      collect_properties(obj, n.type, n.properties);
      return add(std::move(n));
    }
    // {"type": "com.example.Named"}: a reference written as an object.
    return resolve_reference(type_name, space);
  }

  // Reads name and namespace, registers the full name. `n.space` becomes the namespace nested
  // definitions inherit.
  result<node_id> define_named(node n, dom::object obj, const std::string& space) {
    std::string_view name;
    if (obj["name"].get(name)) return schema_error(fmt::format("{} needs a string \"name\"", kind_name(n.type)));
    std::string_view ns;
    bool has_ns = !obj["namespace"].get(ns);
    dom::element ns_el;
    if (!has_ns && !obj["namespace"].get(ns_el) && !ns_el.is_null()) {
      return schema_error(fmt::format("namespace of {} must be a string", name));
    }
    if (auto dot = name.rfind('.'); dot != std::string_view::npos) {
      n.space = std::string(name.substr(0, dot));
      n.name = std::string(name.substr(dot + 1));
    } else {
      n.space = has_ns ? std::string(ns) : space;
      n.name = std::string(name);
    }
    n.full_name = n.space.empty() ? n.name : n.space + "." + n.name;
    if (!valid_full_name(n.full_name)) return schema_error(fmt::format("invalid name \"{}\"", n.full_name));
    if (primitive_kind(n.full_name)) return schema_error(fmt::format("\"{}\" is a primitive type name", n.name));
    if (names_.contains(n.full_name)) return schema_error(fmt::format("type \"{}\" is defined twice", n.full_name));
    std::string_view doc;
    if (!obj["doc"].get(doc)) n.doc = std::string(doc);
    if (auto r = read_aliases(obj, n.space, n.aliases); !r) return tl::unexpected(r.error());
    collect_properties(obj, n.type, n.properties);
    auto id = add(std::move(n));
    names_.emplace(out_.nodes_[id].full_name, id);
    return id;
  }

  result<void> read_aliases(dom::object obj, const std::string& space, std::vector<std::string>& aliases) {
    dom::element el;
    if (obj["aliases"].get(el)) return {};
    dom::array arr;
    if (el.get_array().get(arr)) return schema_error("aliases must be an array of names");
    for (dom::element a : arr) {
      std::string_view alias;
      if (a.get_string().get(alias) || !valid_full_name(alias))
        return schema_error("aliases must be an array of names");
      aliases.push_back(alias.find('.') != std::string_view::npos || space.empty() ? std::string(alias)
                                                                                   : space + "." + std::string(alias));
    }
    return {};
  }

  result<node_id> parse_record(dom::object obj, const std::string& space, std::size_t depth) {
    node n;
    n.type = kind::record;
    dom::array fields;
    if (obj["fields"].get(fields)) return schema_error("record needs a \"fields\" array");
    auto id = define_named(std::move(n), obj, space);
    if (!id) return id;
    const std::string record_space = out_.nodes_[*id].space;
    const std::string record_name = out_.nodes_[*id].full_name;
    std::vector<field> parsed;
    for (dom::element fel : fields) {
      dom::object fobj;
      if (fel.get_object().get(fobj))
        return schema_error(fmt::format("record {}: a field must be an object", record_name));
      field f;
      std::string_view name;
      if (fobj["name"].get(name) || !valid_name_part(name)) {
        return schema_error(fmt::format("record {}: a field needs a valid \"name\"", record_name));
      }
      f.name = std::string(name);
      f.json_key = "\"" + f.name + "\":";  // field names are [A-Za-z0-9_]: nothing to escape
      for (const auto& other : parsed) {
        if (other.name == f.name)
          return schema_error(fmt::format("record {}: duplicate field \"{}\"", record_name, name));
      }
      dom::element type_el;
      if (fobj["type"].get(type_el))
        return schema_error(fmt::format("record {}: field {} needs a \"type\"", record_name, name));
      auto type = parse_node(type_el, record_space, depth + 1);
      if (!type) return tl::unexpected(type.error());
      f.type = *type;
      std::string_view text;
      if (!fobj["doc"].get(text)) f.doc = std::string(text);
      dom::element order_el;
      if (!fobj["order"].get(order_el)) {
        if (order_el.get_string().get(text)) return schema_error(fmt::format("field {}: order must be a string", name));
        if (text == "ascending") {
          f.order = field_order::ascending;
        } else if (text == "descending") {
          f.order = field_order::descending;
        } else if (text == "ignore") {
          f.order = field_order::ignore;
        } else {
          return schema_error(fmt::format("field {}: unknown order \"{}\"", name, text));
        }
      }
      if (auto r = read_aliases(fobj, "", f.aliases); !r) return tl::unexpected(r.error());
      dom::element default_el;
      if (!fobj["default"].get(default_el)) {
        f.has_default = true;
        f.default_json = simdjson::minify(default_el);
        pending_defaults_.push_back({*id, parsed.size(), default_el});
      }
      for (auto [key, value] : fobj) {
        if (key != "name" && key != "type" && key != "doc" && key != "order" && key != "aliases" && key != "default") {
          f.properties.push_back({std::string(key), simdjson::minify(value)});
        }
      }
      parsed.push_back(std::move(f));
    }
    out_.nodes_[*id].fields = std::move(parsed);
    return id;
  }

  result<node_id> parse_enum(dom::object obj, const std::string& space) {
    node n;
    n.type = kind::enum_;
    dom::array symbols;
    if (obj["symbols"].get(symbols)) return schema_error("enum needs a \"symbols\" array");
    for (dom::element s : symbols) {
      std::string_view sym;
      if (s.get_string().get(sym) || !valid_name_part(sym)) return schema_error("enum symbols must be valid names");
      if (n.symbol_index(sym) >= 0) return schema_error(fmt::format("duplicate enum symbol \"{}\"", sym));
      n.symbols.emplace_back(sym);
    }
    dom::element default_el;
    if (!obj["default"].get(default_el)) {
      std::string_view sym;
      if (default_el.get_string().get(sym) || n.symbol_index(sym) < 0) {
        return schema_error("enum default must be one of its symbols");
      }
      n.enum_default = n.symbol_index(sym);
    }
    return define_named(std::move(n), obj, space);
  }

  result<node_id> parse_fixed(dom::object obj, const std::string& space) {
    node n;
    n.type = kind::fixed;
    std::int64_t size;
    if (obj["size"].get(size) || size < 0 || size > (1 << 30)) {
      return schema_error("fixed needs a non-negative integer \"size\"");
    }
    n.size = static_cast<std::size_t>(size);
    auto id = define_named(std::move(n), obj, space);
    if (!id) return id;
    apply_logical_type(out_.nodes_[*id], obj);
    return id;
  }

  // Sets `logical` when the logicalType attribute names a known type that fits; otherwise the
  // attribute stays a plain property (specification: invalid logical types are ignored).
  static void apply_logical_type(node& n, dom::object obj) {
    std::string_view lt;
    if (obj["logicalType"].get(lt)) return;
    auto is = [&](kind k) { return n.type == k; };
    if (lt == "decimal" && (is(kind::bytes) || is(kind::fixed))) {
      std::int64_t precision = 0, scale = 0;
      if (obj["precision"].get(precision) || precision <= 0 || precision > 1000) return;
      dom::element scale_el;
      if (!obj["scale"].get(scale_el) && scale_el.get(scale)) return;
      if (scale < 0 || scale > precision) return;
      if (is(kind::fixed)) {
        // A fixed of n bytes holds at most floor(log10(2^(8n-1) - 1)) digits.
        double digits = n.size == 0 ? 0 : std::floor(std::log10(2.0) * (8.0 * static_cast<double>(n.size) - 1.0));
        if (static_cast<double>(precision) > digits) return;
      }
      n.logical = logical_type::decimal;
      n.precision = static_cast<std::int32_t>(precision);
      n.scale = static_cast<std::int32_t>(scale);
    } else if (lt == "uuid" && is(kind::string)) {
      n.logical = logical_type::uuid;
    } else if (lt == "date" && is(kind::int_)) {
      n.logical = logical_type::date;
    } else if (lt == "time-millis" && is(kind::int_)) {
      n.logical = logical_type::time_millis;
    } else if (lt == "time-micros" && is(kind::long_)) {
      n.logical = logical_type::time_micros;
    } else if (lt == "timestamp-millis" && is(kind::long_)) {
      n.logical = logical_type::timestamp_millis;
    } else if (lt == "timestamp-micros" && is(kind::long_)) {
      n.logical = logical_type::timestamp_micros;
    } else if (lt == "local-timestamp-millis" && is(kind::long_)) {
      n.logical = logical_type::local_timestamp_millis;
    } else if (lt == "local-timestamp-micros" && is(kind::long_)) {
      n.logical = logical_type::local_timestamp_micros;
    } else if (lt == "duration" && is(kind::fixed) && n.size == 12) {
      n.logical = logical_type::duration;
    }
  }

  result<void> encode_default(const pending_default& p) {
    detail::element_encode_options opts;
    opts.mode = detail::json_mode::field_default;
    opts.depth_max = options_.depth_max;
    const field& f = out_.nodes_[p.record].fields[p.field];
    std::string bytes;
    auto r = detail::encode_element(out_, f.type, p.value, opts, bytes);
    if (!r) {
      return schema_error(fmt::format("record {}: invalid default for field {}: {}", out_.nodes_[p.record].full_name,
                                      f.name, r.error().message()));
    }
    out_.nodes_[p.record].fields[p.field].default_binary = std::move(bytes);
    return {};
  }

  // Least encoded size per node, by fixed-point iteration (recursive types converge because
  // sizes only grow and a cycle through a record alone cannot be encoded anyway; the cap keeps
  // such a schema from iterating forever).
  void compute_min_bytes() {
    constexpr std::size_t cap = 1 << 20;
    for (int round = 0; round < 64; ++round) {
      bool changed = false;
      for (auto& n : out_.nodes_) {
        std::size_t m = 0;
        switch (n.type) {
          case kind::null_:
            m = 0;
            break;
          case kind::float_:
            m = 4;
            break;
          case kind::double_:
            m = 8;
            break;
          case kind::fixed:
            m = n.size;
            break;
          case kind::record:
            for (const auto& f : n.fields) m = std::min(cap, m + out_.nodes_[f.type].min_bytes);
            break;
          default:
            m = 1;  // a varint, a length, an enum or union index, or a block count
        }
        if (m != n.min_bytes) {
          n.min_bytes = m;
          changed = true;
        }
      }
      if (!changed) break;
    }
  }

  const parse_options& options_;
  dom::parser parser_;
  schema out_;
  std::unordered_map<std::string, node_id> names_;
  std::vector<pending_default> pending_defaults_;
};

result<schema> schema::parse(std::string_view json, const parse_options& options) {
  schema_builder builder(options);
  return builder.build(json);
}

}  // namespace substrate::avro
