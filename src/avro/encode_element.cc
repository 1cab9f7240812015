// simdjson element -> Avro binary. See json_encoder.h for the JSON accepted per type.
#include "avro/encode_element.h"

#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "avro/binary.h"
#include "avro/errc.h"

namespace substrate::avro::detail {

namespace {

namespace dom = simdjson::dom;

std::string describe(dom::element el) {
  switch (el.type()) {
    case dom::element_type::NULL_VALUE:
      return "null";
    case dom::element_type::BOOL:
      return el.get_bool().value_unsafe() ? "true" : "false";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: {
      auto text = simdjson::minify(el);
      return "number " + text.substr(0, 40);
    }
    case dom::element_type::STRING: {
      std::string_view s = el.get_string().value_unsafe();
      if (s.size() > 40) return fmt::format("string \"{}...\"", s.substr(0, 40));
      return fmt::format("string \"{}\"", s);
    }
    case dom::element_type::ARRAY:
      return "array";
    case dom::element_type::OBJECT:
      return "object";
  }
  return "value";
}

bool valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Decodes the (valid, simdjson checked it) UTF-8 string into one byte per code point, failing on
// any code point above U+00FF.
bool latin1_bytes(std::string_view s, std::string& bytes) {
  bytes.clear();
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      bytes.push_back(static_cast<char>(c));
      ++i;
    } else if ((c & 0xe0) == 0xc0 && i + 1 < s.size()) {
      unsigned cp = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3fu);
      if (cp > 0xff) return false;
      bytes.push_back(static_cast<char>(cp));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

class encoder {
public:
  encoder(const schema& s, const element_encode_options& options, std::string& out, encode_scratch& scratch)
      : s_(s), options_(options), out_(out), scratch_(scratch.bytes), slots_(scratch.slots), path_(scratch.path) {}

  result<void> run(node_id type, dom::element value) {
    auto start = out_.size();
    path_.clear();
    if (encode(type, value, 0)) return {};
    out_.resize(start);
    std::string path = "$";
    for (auto it = path_.rbegin(); it != path_.rend(); ++it) {
      switch (it->type) {
        case path_step::what::field:
          path += '.';
          path += it->name;
          break;
        case path_step::what::index:
          path += fmt::format("[{}]", it->index);
          break;
        case path_step::what::key:
          path += fmt::format("[\"{}\"]", it->name);
          break;
      }
    }
    return make_error(code_, path + ": " + message_);
  }

private:
  bool fail(errc code, std::string message) {
    code_ = code;
    message_ = std::move(message);
    return false;
  }

  std::string expected(node_id type) const {
    const node& n = s_.at(type);
    switch (n.type) {
      case kind::record:
        return fmt::format("record {} (an object)", n.full_name);
      case kind::enum_:
        return fmt::format("enum {} (a string)", n.full_name);
      case kind::fixed:
        return fmt::format("fixed {} ({} bytes as a string)", n.full_name, n.size);
      case kind::union_: {
        std::string names;
        for (auto b : n.branches) {
          if (!names.empty()) names += ", ";
          names += s_.branch_name(b);
        }
        return fmt::format("union [{}]", names);
      }
      case kind::array:
        return fmt::format("array of {}", expected(n.items));
      case kind::map:
        return fmt::format("map of {} (an object)", expected(n.items));
      default:
        if (n.logical != logical_type::none) {
          return fmt::format("{} ({})", kind_name(n.type), logical_type_name(n.logical));
        }
        return std::string(kind_name(n.type));
    }
  }

  bool mismatch(node_id type, dom::element value) {
    return fail(errc::type_mismatch, fmt::format("expected {}, got {}", expected(type), describe(value)));
  }

  bool integral(dom::element value, node_id type, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    switch (value.type()) {
      case dom::element_type::INT64:
        out = value.get_int64().value_unsafe();
        break;
      case dom::element_type::UINT64:
        return fail(errc::out_of_range,
                    fmt::format("expected {}, got {} (out of range)", expected(type), describe(value)));
      case dom::element_type::DOUBLE: {
        double d = value.get_double().value_unsafe();
        // 1.0 is the integer 1 in JSON (and JavaScript cannot tell them apart).
        if (!std::isfinite(d) || std::trunc(d) != d) {
          return fail(errc::type_mismatch,
                      fmt::format("expected {}, got {} (not an integer)", expected(type), describe(value)));
        }
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
          return fail(errc::out_of_range,
                      fmt::format("expected {}, got {} (out of range)", expected(type), describe(value)));
        }
        out = static_cast<std::int64_t>(d);
        break;
      }
      default:
        return mismatch(type, value);
    }
    if (out < lo || out > hi) {
      return fail(errc::out_of_range,
                  fmt::format("expected {}, got {} (out of range)", expected(type), describe(value)));
    }
    return true;
  }

  bool floating(dom::element value, node_id type, double& out) {
    switch (value.type()) {
      case dom::element_type::INT64:
        out = static_cast<double>(value.get_int64().value_unsafe());
        return true;
      case dom::element_type::UINT64:
        out = static_cast<double>(value.get_uint64().value_unsafe());
        return true;
      case dom::element_type::DOUBLE:
        out = value.get_double().value_unsafe();
        return true;
      case dom::element_type::STRING: {
        std::string_view s = value.get_string().value_unsafe();
        if (s == "NaN") {
          out = std::numeric_limits<double>::quiet_NaN();
        } else if (s == "Infinity") {
          out = std::numeric_limits<double>::infinity();
        } else if (s == "-Infinity") {
          out = -std::numeric_limits<double>::infinity();
        } else {
          return mismatch(type, value);
        }
        return true;
      }
      default:
        return mismatch(type, value);
    }
  }

  bool encode(node_id type, dom::element value, std::size_t depth) {
    if (depth > options_.depth_max) {
      return fail(errc::too_deep, fmt::format("value nests deeper than {}", options_.depth_max));
    }
    const node& n = s_.at(type);
    switch (n.type) {
      case kind::null_:
        if (!value.is_null()) return mismatch(type, value);
        return true;
      case kind::boolean: {
        bool b;
        if (value.get_bool().get(b)) return mismatch(type, value);
        out_.push_back(b ? 1 : 0);
        return true;
      }
      case kind::int_: {
        std::int64_t v;
        if (!integral(value, type, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(),
                      v)) {
          return false;
        }
        write_long(out_, v);
        return true;
      }
      case kind::long_: {
        std::int64_t v;
        if (!integral(value, type, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                      v)) {
          return false;
        }
        write_long(out_, v);
        return true;
      }
      case kind::float_: {
        double d;
        if (!floating(value, type, d)) return false;
        if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
          return fail(errc::out_of_range, fmt::format("expected float, got {} (out of range)", describe(value)));
        }
        write_float(out_, static_cast<float>(d));
        return true;
      }
      case kind::double_: {
        double d;
        if (!floating(value, type, d)) return false;
        write_double(out_, d);
        return true;
      }
      case kind::string: {
        std::string_view s;
        if (value.get_string().get(s)) return mismatch(type, value);
        if (n.logical == logical_type::uuid && options_.validate_uuid && !valid_uuid(s)) {
          return fail(errc::invalid_value, fmt::format("expected string (uuid), got {} (not a UUID)", describe(value)));
        }
        write_bytes(out_, s);
        return true;
      }
      case kind::bytes: {
        std::string_view s;
        if (value.get_string().get(s)) return mismatch(type, value);
        if (!latin1_bytes(s, scratch_)) {
          return fail(errc::invalid_value,
                      "expected bytes (a string of code points U+0000..U+00FF), got a code point above U+00FF");
        }
        write_bytes(out_, scratch_);
        return true;
      }
      case kind::fixed: {
        std::string_view s;
        if (value.get_string().get(s)) return mismatch(type, value);
        if (!latin1_bytes(s, scratch_)) {
          return fail(errc::invalid_value, fmt::format("expected {}, got a code point above U+00FF", expected(type)));
        }
        if (scratch_.size() != n.size) {
          return fail(errc::invalid_value, fmt::format("expected {}, got {} bytes", expected(type), scratch_.size()));
        }
        out_.append(scratch_);
        return true;
      }
      case kind::enum_: {
        std::string_view s;
        if (value.get_string().get(s)) return mismatch(type, value);
        int index = n.symbol_index(s);
        if (index < 0) {
          std::string symbols;
          for (const auto& sym : n.symbols) symbols += (symbols.empty() ? "" : ", ") + sym;
          return fail(errc::invalid_value,
                      fmt::format("expected enum {} (one of {}), got {}", n.full_name, symbols, describe(value)));
        }
        write_long(out_, index);
        return true;
      }
      case kind::array: {
        dom::array arr;
        if (value.get_array().get(arr)) return mismatch(type, value);
        auto count = arr.size();
        if (count > 0) {
          write_long(out_, static_cast<std::int64_t>(count));
          std::size_t i = 0;
          for (dom::element item : arr) {
            if (!encode(n.items, item, depth + 1)) {
              path_.push_back({path_step::what::index, {}, i});
              return false;
            }
            ++i;
          }
        }
        out_.push_back(0);
        return true;
      }
      case kind::map: {
        dom::object obj;
        if (value.get_object().get(obj)) return mismatch(type, value);
        auto count = obj.size();
        if (count > 0) {
          write_long(out_, static_cast<std::int64_t>(count));
          for (auto [key, item] : obj) {
            write_bytes(out_, key);
            if (!encode(n.items, item, depth + 1)) {
              path_.push_back({path_step::what::key, key, 0});
              return false;
            }
          }
        }
        out_.push_back(0);
        return true;
      }
      case kind::record:
        return encode_record(type, n, value, depth);
      case kind::union_:
        return encode_union(type, n, value, depth);
    }
    return mismatch(type, value);
  }

  bool encode_record(node_id type, const node& n, dom::element value, std::size_t depth) {
    dom::object obj;
    if (value.get_object().get(obj)) return mismatch(type, value);
    // The value of each schema field, found in one pass over the object in document order.
    if (slots_.size() <= depth) slots_.resize(depth + 1);
    auto& slots = slots_[depth];
    slots.assign(n.fields.size(), slot{});
    // Keys usually come in runs of schema order: try the field after the previous key's first.
    // (The gateway's events are the client's fields, then the token's user_id and email: two
    // runs, so two searches instead of one per key.)
    std::size_t guess = 0;
    for (auto [key, item] : obj) {
      int index = -1;
      if (guess < n.fields.size() && n.fields[guess].name == key) {
        index = static_cast<int>(guess);
      } else {
        index = n.field_index(key);
      }
      if (index >= 0) guess = static_cast<std::size_t>(index) + 1;
      if (index < 0) {
        if (options_.reject_unknown_fields) {
          return fail(errc::invalid_value, fmt::format("record {} has no field \"{}\"", n.full_name, key));
        }
        continue;
      }
      slots[static_cast<std::size_t>(index)] = {item, true};  // a repeated key: the last one wins
    }
    for (std::size_t i = 0; i < n.fields.size(); ++i) {
      const field& f = n.fields[i];
      // slots_ may grow (and move) during the recursion: index it afresh.
      auto s = slots_[depth][i];
      if (s.present) {
        if (!encode(f.type, s.value, depth + 1)) {
          path_.push_back({path_step::what::field, f.name, 0});
          return false;
        }
      } else if (f.has_default) {
        out_.append(f.default_binary);
      } else {
        path_.push_back({path_step::what::field, f.name, 0});
        return fail(errc::missing_field,
                    fmt::format("missing required field of type {} (it has no default)", expected(f.type)));
      }
    }
    return true;
  }

  static bool json_kind_fits(kind k, dom::element_type t) {
    switch (t) {
      case dom::element_type::NULL_VALUE:
        return k == kind::null_;
      case dom::element_type::BOOL:
        return k == kind::boolean;
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE:
        return k == kind::int_ || k == kind::long_ || k == kind::float_ || k == kind::double_;
      case dom::element_type::STRING:
        return k == kind::string || k == kind::bytes || k == kind::enum_ || k == kind::fixed;
      case dom::element_type::ARRAY:
        return k == kind::array;
      case dom::element_type::OBJECT:
        return k == kind::record || k == kind::map;
    }
    return false;
  }

  bool encode_union(node_id type, const node& n, dom::element value, std::size_t depth) {
    if (options_.mode == json_mode::field_default) {
      // A union's default is a value of its first branch (specification, "Unions").
      write_long(out_, 0);
      return encode(n.branches[0], value, depth + 1);
    }
    // The Avro JSON encoding: {"<branch name>": value}.
    dom::object obj;
    if (!value.get_object().get(obj) && obj.size() == 1) {
      auto [key, inner] = *obj.begin();
      for (std::size_t i = 0; i < n.branches.size(); ++i) {
        if (s_.branch_name(n.branches[i]) == key) {
          write_long(out_, static_cast<std::int64_t>(i));
          return encode(n.branches[i], inner, depth + 1);
        }
      }
    }
    // The plain value: the first branch whose type takes it.
    const auto start = out_.size();
    std::size_t candidates = 0;
    std::size_t only = 0;
    for (std::size_t i = 0; i < n.branches.size(); ++i) {
      if (json_kind_fits(s_.at(n.branches[i]).type, value.type())) {
        if (candidates++ == 0) only = i;
      }
    }
    if (candidates == 1) {
      // One branch could take the value: its error says best why it did not.
      write_long(out_, static_cast<std::int64_t>(only));
      if (encode(n.branches[only], value, depth + 1)) return true;
      out_.resize(start);
      return false;
    }
    for (std::size_t i = 0; candidates > 1 && i < n.branches.size(); ++i) {
      if (!json_kind_fits(s_.at(n.branches[i]).type, value.type())) continue;
      const auto path_size = path_.size();
      write_long(out_, static_cast<std::int64_t>(i));
      if (encode(n.branches[i], value, depth + 1)) return true;
      out_.resize(start);
      path_.resize(path_size);
    }
    return mismatch(type, value);
  }

  using slot = encode_scratch::slot;
  using path_step = encode_scratch::path_step;

  const schema& s_;
  const element_encode_options& options_;
  std::string& out_;
  std::string& scratch_;
  std::vector<std::vector<slot>>& slots_;
  std::vector<path_step>& path_;
  errc code_ = errc::invalid_value;
  std::string message_;
};

}  // namespace

result<void> encode_element(const schema& s, node_id type, dom::element value, const element_encode_options& options,
                            std::string& out, encode_scratch& scratch) {
  encoder e(s, options, out, scratch);
  return e.run(type, value);
}

result<void> encode_element(const schema& s, node_id type, dom::element value, const element_encode_options& options,
                            std::string& out) {
  encode_scratch scratch;
  return encode_element(s, type, value, options, out, scratch);
}

}  // namespace substrate::avro::detail
