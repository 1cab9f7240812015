#include "avro/json_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "avro/checked_reader.h"
#include "avro/errc.h"
#include "core/decimal.h"

namespace substrate::avro {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

void append_escaped(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default:
      out += "\\u00";
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
  }
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "\"NaN\"";
  } else if (std::isinf(d)) {
    out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else if (d == 0 && std::signbit(d)) {
    out += "-0.0";  // "-0" would read back as the integer 0 and lose the sign
  } else {
    char buf[32];
    // Shortest form, but never a bare integer beyond 64 bits ("40356773922042019840"), which
    // JSON parsers (simdjson among them) reject or round: large magnitudes in exponent form.
    auto r = std::fabs(d) >= 1e18 ? std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific)
                                  : std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, r.ptr);
  }
}

class decoder {
public:
  decoder(const schema& s, const decode_options& options, std::string& out)
      : s_(s), options_(options), out_(out), in_(options.zero_byte_items_max) {}

  result<void> run(node_id type, std::span<const std::uint8_t> bytes) {
    const auto start = out_.size();
    in_.reset(bytes);
    auto done = in_.finish(decode(type, 0));
    if (!done) out_.resize(start);
    return done;
  }

private:
  void append_latin1(const std::uint8_t* data, std::size_t len) {
    out_ += '"';
    for (std::size_t i = 0; i < len; ++i) {
      unsigned char c = data[i];
      if (c >= 0x80) {
        out_ += static_cast<char>(0xc0 | (c >> 6));
        out_ += static_cast<char>(0x80 | (c & 0x3f));
      } else if (needs_escape(c)) {
        append_escaped(out_, c);
      } else {
        out_ += static_cast<char>(c);
      }
    }
    out_ += '"';
  }

  bool decode(node_id type, std::size_t depth) {
    if (depth > options_.depth_max)
      return in_.fail(errc::too_deep, fmt::format("data nests deeper than {}", options_.depth_max));
    const node& n = s_.at(type);
    switch (n.type) {
      case kind::null_:
        out_ += "null";
        return true;
      case kind::boolean: {
        const std::uint8_t* b = nullptr;
        if (!in_.read_fixed(1, b, "boolean")) return false;
        if (*b > 1) return in_.fail(errc::invalid_binary, fmt::format("boolean byte {}", *b));
        out_ += *b ? "true" : "false";
        return true;
      }
      case kind::int_:
      case kind::long_: {
        std::int64_t v = 0;
        if (!in_.read_long(v, kind_name(n.type))) return false;
        if (n.type == kind::int_ &&
            (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())) {
          return in_.fail(errc::invalid_binary, fmt::format("int {} out of range", v));
        }
        core::append_decimal(out_, v);
        return true;
      }
      case kind::float_: {
        const std::uint8_t* b = nullptr;
        if (!in_.read_fixed(4, b, "float")) return false;
        float f;
        std::memcpy(&f, b, 4);
        append_double(out_, static_cast<double>(f));
        return true;
      }
      case kind::double_: {
        const std::uint8_t* b = nullptr;
        if (!in_.read_fixed(8, b, "double")) return false;
        double d;
        std::memcpy(&d, b, 8);
        append_double(out_, d);
        return true;
      }
      case kind::string: {
        const std::uint8_t* data = nullptr;
        std::size_t len = 0;
        if (!in_.read_length(data, len, "string")) return false;
        if (!append_json_string_checked(out_, {reinterpret_cast<const char*>(data), len})) {
          return in_.fail(errc::invalid_binary, "string is not valid UTF-8");
        }
        return true;
      }
      case kind::bytes: {
        const std::uint8_t* data = nullptr;
        std::size_t len = 0;
        if (!in_.read_length(data, len, "bytes")) return false;
        append_latin1(data, len);
        return true;
      }
      case kind::fixed: {
        const std::uint8_t* data = nullptr;
        if (!in_.read_fixed(n.size, data, "fixed")) return false;
        append_latin1(data, n.size);
        return true;
      }
      case kind::enum_: {
        std::int64_t index = 0;
        if (!in_.read_long(index, "enum")) return false;
        if (index < 0 || static_cast<std::uint64_t>(index) >= n.symbols.size()) {
          return in_.fail(errc::invalid_binary, fmt::format("enum {} index {} out of range", n.full_name, index));
        }
        append_json_string(out_, n.symbols[static_cast<std::size_t>(index)]);
        return true;
      }
      case kind::array:
      case kind::map: {
        const bool is_map = n.type == kind::map;
        out_ += is_map ? '{' : '[';
        bool first = true;
        while (true) {
          std::size_t count = 0;
          if (!in_.read_block_count(s_.at(n.items).min_bytes, count, kind_name(n.type))) return false;
          if (count == 0) break;
          for (std::size_t i = 0; i < count; ++i) {
            if (!first) out_ += ',';
            first = false;
            if (is_map) {
              const std::uint8_t* key = nullptr;
              std::size_t len = 0;
              if (!in_.read_length(key, len, "map key")) return false;
              if (!append_json_string_checked(out_, {reinterpret_cast<const char*>(key), len})) {
                return in_.fail(errc::invalid_binary, "map key is not valid UTF-8");
              }
              out_ += ':';
            }
            if (!decode(n.items, depth + 1)) return false;
          }
        }
        out_ += is_map ? '}' : ']';
        return true;
      }
      case kind::record: {
        out_ += '{';
        for (std::size_t i = 0; i < n.fields.size(); ++i) {
          if (i > 0) out_ += ',';
          out_ += n.fields[i].json_key;
          if (!decode(n.fields[i].type, depth + 1)) return false;
        }
        out_ += '}';
        return true;
      }
      case kind::union_: {
        std::int64_t index = 0;
        if (!in_.read_long(index, "union index")) return false;
        if (index < 0 || static_cast<std::uint64_t>(index) >= n.branches.size()) {
          return in_.fail(errc::invalid_binary, fmt::format("union index {} out of range", index));
        }
        node_id branch = n.branches[static_cast<std::size_t>(index)];
        bool plain = s_.at(branch).type == kind::null_ || options_.unions == union_style::plain ||
                     (options_.unions == union_style::nullable_plain && n.branches.size() == 2 &&
                      (s_.at(n.branches[0]).type == kind::null_ || s_.at(n.branches[1]).type == kind::null_));
        if (plain) return decode(branch, depth + 1);
        out_ += '{';
        append_json_string(out_, s_.branch_name(branch));
        out_ += ':';
        if (!decode(branch, depth + 1)) return false;
        out_ += '}';
        return true;
      }
    }
    return in_.fail(errc::invalid_binary, "unknown type");
  }

  const schema& s_;
  const decode_options& options_;
  std::string& out_;
  checked_reader in_;
};

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static_cast<void>(append_json_string_checked(out, s));
}

bool append_json_string_checked(std::string& out, std::string_view s) {
  // Most strings are plain ASCII without quotes or backslashes: find the first byte that is not
  // (control, '"', '\\' or >= 0x80) eight bytes at a time, copy up to it in one append.
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  auto special_in = [&](std::uint64_t w) {
    std::uint64_t control = (w - ones * 0x20) & ~w;  // high bit set where a byte < 0x20
    std::uint64_t quote = w ^ (ones * '"');
    std::uint64_t backslash = w ^ (ones * '\\');
    quote = (quote - ones) & ~quote;
    backslash = (backslash - ones) & ~backslash;
    return (control | quote | backslash | w) & highs;
  };
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t run = 0;
  std::size_t i = 0;
  bool ascii = true;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (special_in(w) == 0) {
        i += 8;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      ascii = false;
    } else if (needs_escape(c)) {
      out.append(s.data() + run, i - run);
      append_escaped(out, c);
      run = i + 1;
    }
    ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
  return ascii || simdjson::validate_utf8(s.data(), s.size());
}

result<void> decode_json(const schema& s, std::span<const std::uint8_t> bytes, std::string& out,
                         const decode_options& options) {
  return decode_json(s, s.root(), bytes, out, options);
}

result<void> decode_json(const schema& s, node_id type, std::span<const std::uint8_t> bytes, std::string& out,
                         const decode_options& options) {
  decoder d(s, options, out);
  return d.run(type, bytes);
}

}  // namespace substrate::avro
