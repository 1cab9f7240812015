#include "avro/canonical.h"

#include <unordered_set>

#include <openssl/sha.h>

#include "avro/json_decoder.h"

namespace substrate::avro {

namespace {

class pcf_writer {
public:
  explicit pcf_writer(const schema& s) : s_(s) {}

  void write(node_id id) {
    const node& n = s_.at(id);
    switch (n.type) {
      case kind::record:
      case kind::enum_:
      case kind::fixed:
        if (!defined_.insert(id).second) {
          append_json_string(out_, n.full_name);
          return;
        }
        out_ += "{\"name\":";
        append_json_string(out_, n.full_name);
        out_ += ",\"type\":";
        if (n.type == kind::record) {
          out_ += "\"record\",\"fields\":[";
          for (std::size_t i = 0; i < n.fields.size(); ++i) {
            if (i > 0) out_ += ',';
            out_ += "{\"name\":";
            append_json_string(out_, n.fields[i].name);
            out_ += ",\"type\":";
            write(n.fields[i].type);
            out_ += '}';
          }
          out_ += "]}";
        } else if (n.type == kind::enum_) {
          out_ += "\"enum\",\"symbols\":[";
          for (std::size_t i = 0; i < n.symbols.size(); ++i) {
            if (i > 0) out_ += ',';
            append_json_string(out_, n.symbols[i]);
          }
          out_ += "]}";
        } else {
          out_ += "\"fixed\",\"size\":" + std::to_string(n.size) + "}";
        }
        return;
      case kind::array:
        out_ += "{\"type\":\"array\",\"items\":";
        write(n.items);
        out_ += '}';
        return;
      case kind::map:
        out_ += "{\"type\":\"map\",\"values\":";
        write(n.items);
        out_ += '}';
        return;
      case kind::union_:
        out_ += '[';
        for (std::size_t i = 0; i < n.branches.size(); ++i) {
          if (i > 0) out_ += ',';
          write(n.branches[i]);
        }
        out_ += ']';
        return;
      default:
        out_ += '"';
        out_ += kind_name(n.type);
        out_ += '"';
    }
  }

  std::string take() { return std::move(out_); }

private:
  const schema& s_;
  std::string out_;
  std::unordered_set<node_id> defined_;
};

class compact_writer {
public:
  explicit compact_writer(const schema& s) : s_(s) {}

  void write(node_id id, const std::string& space) {
    const node& n = s_.at(id);
    switch (n.type) {
      case kind::record:
      case kind::enum_:
      case kind::fixed:
        write_named(id, n, space);
        return;
      case kind::array:
      case kind::map:
        out_ += n.type == kind::array ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":";
        write(n.items, space);
        write_properties(n.properties);
        out_ += '}';
        return;
      case kind::union_:
        out_ += '[';
        for (std::size_t i = 0; i < n.branches.size(); ++i) {
          if (i > 0) out_ += ',';
          write(n.branches[i], space);
        }
        out_ += ']';
        return;
      default:
        if (n.properties.empty()) {
          out_ += '"';
          out_ += kind_name(n.type);
          out_ += '"';
        } else {
          out_ += "{\"type\":\"";
          out_ += kind_name(n.type);
          out_ += '"';
          write_properties(n.properties);
          out_ += '}';
        }
    }
  }

  std::string take() { return std::move(out_); }

private:
  // A name relative to the enclosing namespace: the short name when the namespaces agree.
  void write_reference(const node& n, const std::string& space) {
    append_json_string(out_, n.space == space ? n.name : n.full_name);
  }

  void write_named(node_id id, const node& n, const std::string& space) {
    if (!defined_.insert(id).second) {
      write_reference(n, space);
      return;
    }
    out_ += "{\"type\":";
    out_ += n.type == kind::record ? "\"record\"" : n.type == kind::enum_ ? "\"enum\"" : "\"fixed\"";
    out_ += ",\"name\":";
    append_json_string(out_, n.name);
    if (n.space != space) {
      out_ += ",\"namespace\":";
      append_json_string(out_, n.space);
    }
    if (n.doc) {
      out_ += ",\"doc\":";
      append_json_string(out_, *n.doc);
    }
    if (n.type == kind::record) {
      out_ += ",\"fields\":[";
      for (std::size_t i = 0; i < n.fields.size(); ++i) {
        const field& f = n.fields[i];
        if (i > 0) out_ += ',';
        out_ += "{\"name\":";
        append_json_string(out_, f.name);
        out_ += ",\"type\":";
        write(f.type, n.space);
        if (f.doc) {
          out_ += ",\"doc\":";
          append_json_string(out_, *f.doc);
        }
        if (f.has_default) {
          out_ += ",\"default\":";
          out_ += f.default_json;
        }
        if (f.order != field_order::ascending) {
          out_ += f.order == field_order::descending ? ",\"order\":\"descending\"" : ",\"order\":\"ignore\"";
        }
        write_aliases(f.aliases, "");
        write_properties(f.properties);
        out_ += '}';
      }
      out_ += ']';
    } else if (n.type == kind::enum_) {
      out_ += ",\"symbols\":[";
      for (std::size_t i = 0; i < n.symbols.size(); ++i) {
        if (i > 0) out_ += ',';
        append_json_string(out_, n.symbols[i]);
      }
      out_ += ']';
      if (n.enum_default >= 0) {
        out_ += ",\"default\":";
        append_json_string(out_, n.symbols[static_cast<std::size_t>(n.enum_default)]);
      }
    } else {
      out_ += ",\"size\":" + std::to_string(n.size);
    }
    write_aliases(n.aliases, n.space);
    write_properties(n.properties);
    out_ += '}';
  }

  void write_aliases(const std::vector<std::string>& aliases, const std::string& space) {
    if (aliases.empty()) return;
    out_ += ",\"aliases\":[";
    for (std::size_t i = 0; i < aliases.size(); ++i) {
      if (i > 0) out_ += ',';
      std::string_view a = aliases[i];
      if (!space.empty() && a.size() > space.size() + 1 && a.substr(0, space.size()) == space &&
          a[space.size()] == '.' && a.find('.', space.size() + 1) == std::string_view::npos) {
        a.remove_prefix(space.size() + 1);
      }
      append_json_string(out_, a);
    }
    out_ += ']';
  }

  void write_properties(const std::vector<property>& props) {
    for (const auto& p : props) {
      out_ += ',';
      append_json_string(out_, p.name);
      out_ += ':';
      out_ += p.json;
    }
  }

  const schema& s_;
  std::string out_;
  std::unordered_set<node_id> defined_;
};

struct crc64_table {
  static constexpr std::uint64_t empty = 0xc15d213aa4d7a795ULL;
  std::array<std::uint64_t, 256> entries{};
  constexpr crc64_table() {
    for (std::uint64_t i = 0; i < 256; ++i) {
      std::uint64_t fp = i;
      for (int j = 0; j < 8; ++j) fp = (fp >> 1) ^ (empty & (0 - (fp & 1)));
      entries[i] = fp;
    }
  }
};
constexpr crc64_table crc64;

}  // namespace

std::string parsing_canonical_form(const schema& s) {
  pcf_writer w(s);
  w.write(s.root());
  return w.take();
}

std::string compact_json(const schema& s) {
  compact_writer w(s);
  w.write(s.root(), "");
  return w.take();
}

std::uint64_t fingerprint64(std::string_view bytes) {
  std::uint64_t fp = crc64_table::empty;
  for (char c : bytes) fp = (fp >> 8) ^ crc64.entries[(fp ^ static_cast<std::uint8_t>(c)) & 0xff];
  return fp;
}

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
  std::array<std::uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

std::uint64_t fingerprint64(const schema& s) {
  return fingerprint64(parsing_canonical_form(s));
}
std::array<std::uint8_t, 32> fingerprint_sha256(const schema& s) {
  return sha256(parsing_canonical_form(s));
}

}  // namespace substrate::avro
