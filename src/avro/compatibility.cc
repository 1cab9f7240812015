#include "avro/compatibility.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace substrate::avro {

namespace {

constexpr std::pair<compatibility_level, std::string_view> level_names[] = {
    {compatibility_level::none, "NONE"},
    {compatibility_level::backward, "BACKWARD"},
    {compatibility_level::backward_transitive, "BACKWARD_TRANSITIVE"},
    {compatibility_level::forward, "FORWARD"},
    {compatibility_level::forward_transitive, "FORWARD_TRANSITIVE"},
    {compatibility_level::full, "FULL"},
    {compatibility_level::full_transitive, "FULL_TRANSITIVE"},
};

std::string type_description(const schema& s, node_id id) {
  const node& n = s.at(id);
  if (n.named()) return fmt::format("{} {}", kind_name(n.type), n.full_name);
  if (n.type == kind::union_) {
    std::string names;
    for (auto b : n.branches) names += (names.empty() ? "" : ", ") + std::string(s.branch_name(b));
    return fmt::format("union [{}]", names);
  }
  return std::string(kind_name(n.type));
}

bool promotable(kind writer, kind reader) {
  switch (writer) {
    case kind::int_:
      return reader == kind::long_ || reader == kind::float_ || reader == kind::double_;
    case kind::long_:
      return reader == kind::float_ || reader == kind::double_;
    case kind::float_:
      return reader == kind::double_;
    case kind::string:
      return reader == kind::bytes;
    case kind::bytes:
      return reader == kind::string;
    default:
      return false;
  }
}

class checker {
public:
  checker(const schema& reader, const schema& writer, writer_unions unions, std::vector<incompatibility>& out)
      : r_(reader), w_(writer), unions_(unions), out_(out) {}

  void check(node_id r, node_id w, const std::string& path) {
    // A pair already being checked further up (recursive types) is assumed to resolve: if it
    // does not, that outer check reports it.
    if (!in_progress_.insert({r, w}).second) return;
    check_pair(r, w, path);
    in_progress_.erase({r, w});
  }

  bool compatible(node_id r, node_id w) {
    std::vector<incompatibility> scratch;
    checker sub(r_, w_, unions_, scratch);
    sub.in_progress_ = in_progress_;
    sub.check(r, w, "$");
    return scratch.empty();
  }

private:
  void report(const std::string& path, std::string message) { out_.push_back({path, std::move(message)}); }

  static bool names_match(const node& r, const node& w) {
    if (r.name == w.name) return true;
    return std::find(r.aliases.begin(), r.aliases.end(), w.full_name) != r.aliases.end();
  }

  void check_pair(node_id r_id, node_id w_id, const std::string& path) {
    const node& r = r_.at(r_id);
    const node& w = w_.at(w_id);
    if (w.type == kind::union_) {
      if (unions_ == writer_unions::any_branch) {
        for (auto b : w.branches) {
          if (compatible(r_id, b)) return;
        }
        report(path, fmt::format("no branch of writer {} can be read as reader {}", type_description(w_, w_id),
                                 type_description(r_, r_id)));
        return;
      }
      for (auto b : w.branches) check(r_id, b, path);
      return;
    }
    if (r.type == kind::union_) {
      for (auto b : r.branches) {
        if (compatible(b, w_id)) return;
      }
      report(path, fmt::format("reader {} has no branch that reads writer {}", type_description(r_, r_id),
                               type_description(w_, w_id)));
      return;
    }
    if (r.type != w.type) {
      if (!promotable(w.type, r.type)) {
        report(path, fmt::format("reader type {} cannot read writer type {}", type_description(r_, r_id),
                                 type_description(w_, w_id)));
      }
      return;
    }
    switch (r.type) {
      case kind::record: {
        if (!names_match(r, w)) {
          report(path, fmt::format("reader record {} does not match writer record {}", r.full_name, w.full_name));
          return;
        }
        for (const auto& rf : r.fields) {
          int wi = w.field_index(rf.name);
          for (std::size_t a = 0; wi < 0 && a < rf.aliases.size(); ++a) wi = w.field_index(rf.aliases[a]);
          std::string field_path = path + "." + rf.name;
          if (wi >= 0) {
            check(rf.type, w.fields[static_cast<std::size_t>(wi)].type, field_path);
          } else if (!rf.has_default) {
            report(field_path, fmt::format("reader field {} has no default and writer record {} has no such field",
                                           rf.name, w.full_name));
          }
        }
        return;
      }
      case kind::enum_: {
        if (!names_match(r, w)) {
          report(path, fmt::format("reader enum {} does not match writer enum {}", r.full_name, w.full_name));
          return;
        }
        if (r.enum_default >= 0) return;
        std::string missing;
        for (const auto& sym : w.symbols) {
          if (r.symbol_index(sym) < 0) missing += (missing.empty() ? "" : ", ") + sym;
        }
        if (!missing.empty()) {
          report(path,
                 fmt::format("reader enum {} lacks writer symbols [{}] and has no default", r.full_name, missing));
        }
        return;
      }
      case kind::fixed:
        if (!names_match(r, w)) {
          report(path, fmt::format("reader fixed {} does not match writer fixed {}", r.full_name, w.full_name));
        } else if (r.size != w.size) {
          report(path, fmt::format("reader fixed {} has size {}, writer size {}", r.full_name, r.size, w.size));
        }
        return;
      case kind::array:
        check(r.items, w.items, path + "[]");
        return;
      case kind::map:
        check(r.items, w.items, path + "{}");
        return;
      default:
        return;  // the same primitive
    }
  }

  const schema& r_;
  const schema& w_;
  writer_unions unions_;
  std::vector<incompatibility>& out_;
  std::set<std::pair<node_id, node_id>> in_progress_;
};

}  // namespace

std::string_view compatibility_level_name(compatibility_level level) {
  for (auto [l, name] : level_names) {
    if (l == level) return name;
  }
  return "NONE";
}

std::optional<compatibility_level> parse_compatibility_level(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  for (auto [l, n] : level_names) {
    if (n == upper) return l;
  }
  return std::nullopt;
}

std::vector<incompatibility> check_resolution(const schema& reader, const schema& writer) {
  return check_resolution(reader, reader.root(), writer, writer.root());
}

std::vector<incompatibility> check_resolution(const schema& reader, node_id reader_type, const schema& writer,
                                              node_id writer_type, writer_unions unions) {
  std::vector<incompatibility> out;
  checker c(reader, writer, unions, out);
  c.check(reader_type, writer_type, "$");
  return out;
}

std::vector<incompatibility> check_compatibility(compatibility_level level, const schema& candidate,
                                                 std::span<const schema* const> existing) {
  std::vector<incompatibility> out;
  if (level == compatibility_level::none || existing.empty()) return out;
  const bool transitive = level == compatibility_level::backward_transitive ||
                          level == compatibility_level::forward_transitive ||
                          level == compatibility_level::full_transitive;
  const bool backward = level != compatibility_level::forward && level != compatibility_level::forward_transitive;
  const bool forward = level != compatibility_level::backward && level != compatibility_level::backward_transitive;
  const std::size_t first = transitive ? 0 : existing.size() - 1;
  for (std::size_t i = first; i < existing.size(); ++i) {
    const schema& old = *existing[i];
    if (backward) {
      for (auto& e : check_resolution(candidate, old)) {
        out.push_back(
            {e.path, fmt::format("the new schema cannot read data written with version {}: {}", i + 1, e.message)});
      }
    }
    if (forward) {
      for (auto& e : check_resolution(old, candidate)) {
        out.push_back(
            {e.path, fmt::format("version {} cannot read data written with the new schema: {}", i + 1, e.message)});
      }
    }
  }
  return out;
}

}  // namespace substrate::avro
