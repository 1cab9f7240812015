#include "avro/resolver.h"

#include <simdjson.h>

#include <cstring>

#include <fmt/format.h>

#include "avro/binary.h"
#include "avro/compatibility.h"
#include "avro/errc.h"
#include "core/assert.h"

namespace substrate::avro {

namespace {

// Strings are checked as the decoder checks them, so both accept exactly the same bytes.
bool valid_utf8(const std::uint8_t* data, std::size_t len) {
  return simdjson::validate_utf8(reinterpret_cast<const char*>(data), len);
}

bool same_type(const node& r, const node& w) {
  if (r.type != w.type) return false;
  if (!r.named()) return true;
  return r.name == w.name || std::find(r.aliases.begin(), r.aliases.end(), w.full_name) != r.aliases.end();
}

}  // namespace

void resolver::prepare(node_id w_id, node_id r_id) {
  auto [it, inserted] = plans_.try_emplace(key(w_id, r_id));
  if (!inserted) return;
  const node& w = writer_->at(w_id);
  const node& r = reader_->at(r_id);
  if (w.type == kind::union_) {
    // Branches that cannot be read as the reader type fail when a datum uses them.
    for (auto b : w.branches) {
      if (check_resolution(*reader_, r_id, *writer_, b, writer_unions::any_branch).empty()) {
        prepare(b, r_id);
      } else {
        unreadable_.insert(key(b, r_id));
      }
    }
    return;
  }
  if (r.type == kind::union_) {
    // The first branch of the same type, else the first that resolves (specification).
    std::size_t chosen = r.branches.size();
    for (std::size_t i = 0; i < r.branches.size() && chosen == r.branches.size(); ++i) {
      if (same_type(reader_->at(r.branches[i]), w)) chosen = i;
    }
    for (std::size_t i = 0; i < r.branches.size() && chosen == r.branches.size(); ++i) {
      if (check_resolution(*reader_, r.branches[i], *writer_, w_id, writer_unions::any_branch).empty()) chosen = i;
    }
    // create() checked the pair, so some branch resolves.
    SUBSTRATE_ASSERT(chosen < r.branches.size(), "no reader union branch for writer {}", kind_name(w.type));
    plans_[key(w_id, r_id)].branch = chosen;
    prepare(w_id, r.branches[chosen]);
    return;
  }
  switch (r.type) {
    case kind::record: {
      plan p;
      p.reader_field.assign(w.fields.size(), -1);
      bool in_order = w.fields.size() == r.fields.size();
      for (std::size_t i = 0; i < w.fields.size(); ++i) {
        int ri = r.field_index(w.fields[i].name);
        for (std::size_t j = 0; ri < 0 && j < r.fields.size(); ++j) {
          const auto& aliases = r.fields[j].aliases;
          if (std::find(aliases.begin(), aliases.end(), w.fields[i].name) != aliases.end()) ri = static_cast<int>(j);
        }
        p.reader_field[i] = ri;
        if (ri != static_cast<int>(i)) in_order = false;
      }
      p.in_order = in_order;
      for (std::size_t i = 0; i < w.fields.size(); ++i) {
        if (p.reader_field[i] >= 0) {
          prepare(w.fields[i].type, r.fields[static_cast<std::size_t>(p.reader_field[i])].type);
        }
      }
      plans_[key(w_id, r_id)] = std::move(p);
      return;
    }
    case kind::enum_: {
      plan p;
      for (const auto& sym : w.symbols) {
        int ri = r.symbol_index(sym);
        p.symbol.push_back(ri >= 0 ? ri : r.enum_default);
      }
      plans_[key(w_id, r_id)] = std::move(p);
      return;
    }
    case kind::array:
    case kind::map:
      if (w.type == r.type) prepare(w.items, r.items);
      return;
    default:
      return;
  }
}

result<resolver> resolver::create(std::shared_ptr<const schema> writer, std::shared_ptr<const schema> reader,
                                  resolve_options options) {
  auto problems = check_resolution(*reader, reader->root(), *writer, writer->root(), writer_unions::any_branch);
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p.path + ": " + p.message;
    return make_error(errc::incompatible, text);
  }
  resolver res;
  res.writer_ = std::move(writer);
  res.reader_ = std::move(reader);
  res.options_ = options;
  res.prepare(res.writer_->root(), res.reader_->root());
  return res;
}

}  // namespace substrate::avro

namespace substrate::avro {

// Walks writer bytes and writes reader bytes following the resolver's plans.
class transcoder {
public:
  transcoder(const resolver& res, std::string& out) : res_(res), w_(*res.writer_), r_(*res.reader_), out_(out) {}

  result<void> run(std::span<const std::uint8_t> bytes) {
    in_ = {bytes.data(), bytes.data() + bytes.size()};
    const auto start = out_.size();
    if (copy(w_.root(), r_.root(), out_, 0)) {
      if (in_.remaining() == 0) return {};
      code_ = errc::trailing_bytes;
      message_ = fmt::format("{} bytes left after the datum", in_.remaining());
    }
    out_.resize(start);
    return make_error(code_, fmt::format("at byte {}: {}", static_cast<std::size_t>(in_.pos - bytes.data()), message_));
  }

private:
  bool fail(errc code, std::string message) {
    code_ = code;
    message_ = std::move(message);
    return false;
  }

  bool status(read_status st, std::string_view what) {
    if (st == read_status::ok) return true;
    if (st == read_status::truncated) return fail(errc::truncated, fmt::format("data ends inside {}", what));
    return fail(errc::invalid_binary, fmt::format("malformed varint in {}", what));
  }

  bool read_long(std::int64_t& v, std::string_view what) { return status(in_.read_long(v), what); }

  bool read_length(const std::uint8_t*& data, std::size_t& len, std::string_view what) {
    std::int64_t n = 0;
    if (!read_long(n, what)) return false;
    if (n < 0) return fail(errc::invalid_binary, fmt::format("negative length {} of {}", n, what));
    if (static_cast<std::uint64_t>(n) > in_.remaining()) {
      return fail(errc::truncated, fmt::format("{} of {} bytes, only {} left", what, n, in_.remaining()));
    }
    len = static_cast<std::size_t>(n);
    return status(in_.read_fixed(len, data), what);
  }

  bool read_block_count(node_id item, std::size_t& count, std::string_view what) {
    std::int64_t n = 0;
    if (!read_long(n, what)) return false;
    if (n < 0) {
      if (n == std::numeric_limits<std::int64_t>::min()) return fail(errc::invalid_binary, "block count out of range");
      n = -n;
      std::int64_t block_bytes = 0;
      if (!read_long(block_bytes, what)) return false;
      if (block_bytes < 0) return fail(errc::invalid_binary, fmt::format("negative block size in {}", what));
    }
    auto per_item = w_.at(item).min_bytes;
    auto u = static_cast<std::uint64_t>(n);
    if (per_item == 0) {
      zero_byte_items_ += u;
      if (u > res_.options_.zero_byte_items_max || zero_byte_items_ > res_.options_.zero_byte_items_max) {
        return fail(errc::invalid_binary, fmt::format("{} block of {} zero-byte items exceeds the limit", what, n));
      }
    } else if (u > in_.remaining() / per_item) {
      return fail(errc::truncated,
                  fmt::format("{} block of {} items cannot fit in the {} bytes left", what, n, in_.remaining()));
    }
    count = static_cast<std::size_t>(u);
    return true;
  }

  // Reads one writer datum of type `w` and writes it as reader type `r` to `out`.
  bool copy(node_id w_id, node_id r_id, std::string& out, std::size_t depth) {
    if (depth > res_.options_.depth_max) return fail(errc::too_deep, "data nests too deeply");
    const node& w = w_.at(w_id);
    const node& r = r_.at(r_id);
    if (w.type == kind::union_) {
      std::int64_t index = 0;
      if (!read_long(index, "union index")) return false;
      if (index < 0 || static_cast<std::uint64_t>(index) >= w.branches.size()) {
        return fail(errc::invalid_binary, fmt::format("union index {} out of range", index));
      }
      node_id branch = w.branches[static_cast<std::size_t>(index)];
      if (res_.unreadable_.contains(resolver::key(branch, r_id))) {
        return fail(errc::incompatible, fmt::format("writer union branch {} cannot be read as reader {}",
                                                    w_.branch_name(branch), kind_name(r.type)));
      }
      // No level of its own: the reader union (if any) counts it, as the decoder counts a union once.
      return copy(branch, r_id, out, depth);
    }
    if (r.type == kind::union_) {
      auto branch = res_.plans_.at(resolver::key(w_id, r_id)).branch;
      write_long(out, static_cast<std::int64_t>(branch));
      return copy(w_id, r.branches[branch], out, depth + 1);
    }
    switch (w.type) {
      case kind::null_:
        return true;
      case kind::boolean: {
        const std::uint8_t* b = nullptr;
        if (!status(in_.read_fixed(1, b), "boolean")) return false;
        if (*b > 1) return fail(errc::invalid_binary, fmt::format("boolean byte {}", *b));
        out.push_back(static_cast<char>(*b));
        return true;
      }
      case kind::int_:
      case kind::long_: {
        std::int64_t v = 0;
        if (!read_long(v, kind_name(w.type))) return false;
        if (w.type == kind::int_ &&
            (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())) {
          return fail(errc::invalid_binary, fmt::format("int {} out of range", v));
        }
        if (r.type == kind::float_) {
          write_float(out, static_cast<float>(v));
        } else if (r.type == kind::double_) {
          write_double(out, static_cast<double>(v));
        } else {
          write_long(out, v);
        }
        return true;
      }
      case kind::float_: {
        const std::uint8_t* b = nullptr;
        if (!status(in_.read_fixed(4, b), "float")) return false;
        if (r.type == kind::double_) {
          float f;
          std::memcpy(&f, b, 4);
          write_double(out, static_cast<double>(f));
        } else {
          out.append(reinterpret_cast<const char*>(b), 4);
        }
        return true;
      }
      case kind::double_: {
        const std::uint8_t* b = nullptr;
        if (!status(in_.read_fixed(8, b), "double")) return false;
        out.append(reinterpret_cast<const char*>(b), 8);
        return true;
      }
      case kind::string:
      case kind::bytes: {
        const std::uint8_t* data = nullptr;
        std::size_t len = 0;
        if (!read_length(data, len, kind_name(w.type))) return false;
        if (w.type == kind::string && !valid_utf8(data, len))
          return fail(errc::invalid_binary, "string is not valid UTF-8");
        write_bytes(out, {reinterpret_cast<const char*>(data), len});
        return true;
      }
      case kind::fixed: {
        const std::uint8_t* data = nullptr;
        if (!status(in_.read_fixed(w.size, data), "fixed")) return false;
        out.append(reinterpret_cast<const char*>(data), w.size);
        return true;
      }
      case kind::enum_: {
        std::int64_t index = 0;
        if (!read_long(index, "enum")) return false;
        const auto& symbols = res_.plans_.at(resolver::key(w_id, r_id)).symbol;
        if (index < 0 || static_cast<std::uint64_t>(index) >= symbols.size()) {
          return fail(errc::invalid_binary, fmt::format("enum {} index {} out of range", w.full_name, index));
        }
        int ri = symbols[static_cast<std::size_t>(index)];
        if (ri < 0) {
          return fail(errc::incompatible, fmt::format("reader enum {} has no symbol {}", r.full_name,
                                                      w.symbols[static_cast<std::size_t>(index)]));
        }
        write_long(out, ri);
        return true;
      }
      case kind::array:
      case kind::map: {
        while (true) {
          std::size_t count = 0;
          if (!read_block_count(w.items, count, kind_name(w.type))) return false;
          if (count == 0) break;
          write_long(out, static_cast<std::int64_t>(count));
          for (std::size_t i = 0; i < count; ++i) {
            if (w.type == kind::map) {
              const std::uint8_t* key = nullptr;
              std::size_t len = 0;
              if (!read_length(key, len, "map key")) return false;
              if (!valid_utf8(key, len)) return fail(errc::invalid_binary, "map key is not valid UTF-8");
              write_bytes(out, {reinterpret_cast<const char*>(key), len});
            }
            if (!copy(w.items, r.items, out, depth + 1)) return false;
          }
        }
        out.push_back(0);
        return true;
      }
      case kind::record:
        return copy_record(w_id, r_id, w, r, out, depth);
      case kind::union_:
        break;
    }
    return fail(errc::invalid_binary, "unknown type");
  }

  // Reads past one writer datum of type `w_id`, checking it as it goes.
  bool skip(node_id w_id, std::size_t depth) {
    if (depth > res_.options_.depth_max) return fail(errc::too_deep, "data nests too deeply");
    const node& w = w_.at(w_id);
    std::int64_t v = 0;
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    switch (w.type) {
      case kind::null_:
        return true;
      case kind::boolean:
        if (!status(in_.read_fixed(1, data), "boolean")) return false;
        if (*data > 1) return fail(errc::invalid_binary, fmt::format("boolean byte {}", *data));
        return true;
      case kind::int_:
      case kind::long_:
        return read_long(v, kind_name(w.type));
      case kind::float_:
        return status(in_.read_fixed(4, data), "float");
      case kind::double_:
        return status(in_.read_fixed(8, data), "double");
      case kind::string:
      case kind::bytes:
        if (!read_length(data, len, kind_name(w.type))) return false;
        if (w.type == kind::string && !valid_utf8(data, len))
          return fail(errc::invalid_binary, "string is not valid UTF-8");
        return true;
      case kind::fixed:
        return status(in_.read_fixed(w.size, data), "fixed");
      case kind::enum_:
        if (!read_long(v, "enum")) return false;
        if (v < 0 || static_cast<std::uint64_t>(v) >= w.symbols.size()) {
          return fail(errc::invalid_binary, fmt::format("enum {} index {} out of range", w.full_name, v));
        }
        return true;
      case kind::union_:
        if (!read_long(v, "union index")) return false;
        if (v < 0 || static_cast<std::uint64_t>(v) >= w.branches.size()) {
          return fail(errc::invalid_binary, fmt::format("union index {} out of range", v));
        }
        return skip(w.branches[static_cast<std::size_t>(v)], depth + 1);
      case kind::record:
        for (const auto& f : w.fields) {
          if (!skip(f.type, depth + 1)) return false;
        }
        return true;
      case kind::array:
      case kind::map:
        while (true) {
          std::size_t count = 0;
          if (!read_block_count(w.items, count, kind_name(w.type))) return false;
          if (count == 0) return true;
          for (std::size_t i = 0; i < count; ++i) {
            if (w.type == kind::map) {
              if (!read_length(data, len, "map key")) return false;
              if (!valid_utf8(data, len)) return fail(errc::invalid_binary, "map key is not valid UTF-8");
            }
            if (!skip(w.items, depth + 1)) return false;
          }
        }
    }
    return fail(errc::invalid_binary, "unknown type");
  }

  bool copy_record(node_id w_id, node_id r_id, const node& w, const node& r, std::string& out, std::size_t depth) {
    const auto& p = res_.plans_.at(resolver::key(w_id, r_id));
    if (p.in_order) {
      for (std::size_t i = 0; i < w.fields.size(); ++i) {
        if (!copy(w.fields[i].type, r.fields[i].type, out, depth + 1)) return false;
      }
      return true;
    }
    // Fields arrive in writer order; collect each reader field's bytes, then write in reader order.
    std::vector<std::string> slots(r.fields.size());
    std::vector<bool> present(r.fields.size(), false);
    for (std::size_t i = 0; i < w.fields.size(); ++i) {
      int ri = p.reader_field[i];
      if (ri < 0) {
        if (!skip(w.fields[i].type, depth + 1)) return false;
        continue;
      }
      auto j = static_cast<std::size_t>(ri);
      if (!copy(w.fields[i].type, r.fields[j].type, slots[j], depth + 1)) return false;
      present[j] = true;
    }
    for (std::size_t j = 0; j < r.fields.size(); ++j) {
      out.append(present[j] ? slots[j] : r.fields[j].default_binary);
    }
    return true;
  }

  const resolver& res_;
  const schema& w_;
  const schema& r_;
  std::string& out_;
  byte_reader in_{};
  std::uint64_t zero_byte_items_ = 0;
  errc code_ = errc::invalid_binary;
  std::string message_;
};

result<void> resolver::transcode(std::span<const std::uint8_t> bytes, std::string& out) const {
  transcoder t(*this, out);
  return t.run(bytes);
}

result<void> resolver::decode_json(std::span<const std::uint8_t> bytes, std::string& out,
                                   const decode_options& options) const {
  std::string reader_bytes;
  if (auto r = transcode(bytes, reader_bytes); !r) return r;
  auto view = std::span(reinterpret_cast<const std::uint8_t*>(reader_bytes.data()), reader_bytes.size());
  return avro::decode_json(*reader_, view, out, options);
}

}  // namespace substrate::avro
