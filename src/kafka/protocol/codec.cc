#include "kafka/protocol/codec.h"

#include <algorithm>

#include "kafka/protocol/errc.h"
#include "kafka/protocol/schema.h"

namespace substrate::kafka {

namespace {

struct context {
  std::int16_t version;
  bool flexible;
  [[nodiscard]] encoding strings() const { return flexible ? encoding::compact : encoding::classic; }
};

// How a value of a field (or of an array element) is shaped in the version at hand.
struct shape {
  field_type type;
  field_type element;
  const struct_desc* nested;
  bool optional_type;  // the value alternative is std::optional (nullable in some version)
  bool nullable;       // null is allowed in this version
};

shape field_shape(const field_desc& f, const context& c) {
  return {f.type, f.element, f.nested, f.nullable_ever(), f.nullable_in(c.version)};
}

shape element_shape(const shape& array) {
  return {array.element, field_type::int32, array.nested, false, false};
}

std::size_t struct_bytes_min(const struct_desc& s, const context& c);

// The fewest bytes a value of this shape can take on the wire; bounds array counts before any
// allocation.
std::size_t bytes_min(const shape& s, const context& c) {
  switch (s.type) {
    case field_type::boolean:
    case field_type::int8:
      return 1;
    case field_type::int16:
    case field_type::uint16:
      return 2;
    case field_type::int32:
      return 4;
    case field_type::int64:
    case field_type::float64:
      return 8;
    case field_type::uuid:
      return 16;
    case field_type::string:
      return c.flexible ? 1 : 2;
    case field_type::bytes:
    case field_type::records:
    case field_type::array:
      return c.flexible ? 1 : 4;
    case field_type::structure:
      return struct_bytes_min(*s.nested, c);
  }
  return 1;
}

std::size_t struct_bytes_min(const struct_desc& s, const context& c) {
  std::size_t total = c.flexible ? 1 : 0;
  for (const auto& f : s.fields) {
    if (f.present_in(c.version) && !f.tagged()) total += bytes_min(field_shape(f, c), c);
  }
  return total;
}

template <class T>
result<value> wrap(result<T>&& r) {
  if (!r) return tl::unexpected(std::move(r.error()));
  return value(std::move(*r));
}

result<message> decode_struct(reader& r, const struct_desc& desc, const context& c);

result<value> decode_value(reader& r, const shape& s, const context& c) {
  const encoding e = c.strings();
  switch (s.type) {
    case field_type::boolean:
      return wrap(r.read_bool());
    case field_type::int8:
      return wrap(r.read_i8());
    case field_type::int16:
      return wrap(r.read_i16());
    case field_type::uint16:
      return wrap(r.read_u16());
    case field_type::int32:
      return wrap(r.read_i32());
    case field_type::int64:
      return wrap(r.read_i64());
    case field_type::float64:
      return wrap(r.read_f64());
    case field_type::uuid:
      return wrap(r.read_uuid());
    case field_type::string: {
      if (!s.optional_type) return wrap(r.read_string(e));
      auto v = r.read_nullable_string(e);
      if (v && !*v && !s.nullable) return make_error(errc::null_not_allowed);
      return wrap(std::move(v));
    }
    case field_type::bytes: {
      if (!s.optional_type) return wrap(r.read_bytes(e));
      auto v = r.read_nullable_bytes(e);
      if (v && !*v && !s.nullable) return make_error(errc::null_not_allowed);
      return wrap(std::move(v));
    }
    case field_type::records: {
      auto v = r.read_nullable_bytes(e);
      if (!v) return tl::unexpected(std::move(v.error()));
      if (!*v && !s.nullable) return make_error(errc::null_not_allowed);
      return value(records{std::move(*v)});
    }
    case field_type::structure:
      return wrap(decode_struct(r, *s.nested, c));
    case field_type::array: {
      auto count = r.read_array_count(e);
      if (!count) return tl::unexpected(std::move(count.error()));
      const bool of_structs = s.element == field_type::structure;
      if (*count == -1) {
        if (!s.nullable) return make_error(errc::null_not_allowed);
        return of_structs ? value(struct_array{.null = true}) : value(value_array{.null = true});
      }
      const shape element = element_shape(s);
      const auto n = static_cast<std::size_t>(*count);
      if (auto fits = r.check_count(n, bytes_min(element, c)); !fits) return tl::unexpected(std::move(fits.error()));
      if (of_structs) {
        struct_array out;
        out.items.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          auto item = decode_struct(r, *s.nested, c);
          if (!item) return tl::unexpected(std::move(item.error()));
          out.items.push_back(std::move(*item));
        }
        return value(std::move(out));
      }
      value_array out;
      out.items.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        auto item = decode_value(r, element, c);
        if (!item) return tl::unexpected(std::move(item.error()));
        out.items.push_back(std::move(*item));
      }
      return value(std::move(out));
    }
  }
  return make_error(errc::schema_mismatch, "unknown field type");
}

// Names the innermost field in the error context once; outer levels leave it alone.
error at_field(error e, const struct_desc& desc, const field_desc& f) {
  if (e.context.find(" at ") == std::string::npos) {
    e.context += (e.context.empty() ? "at " : " at ") + std::string(desc.name) + "." + std::string(f.name);
  }
  return e;
}

const field_desc* find_tagged(const struct_desc& desc, std::uint32_t tag, const context& c, std::size_t& index) {
  for (std::size_t i = 0; i < desc.fields.size(); ++i) {
    const auto& f = desc.fields[i];
    if (f.tagged() && static_cast<std::uint32_t>(f.tag) == tag && f.present_in(c.version)) {
      index = i;
      return &f;
    }
  }
  return nullptr;
}

result<void> decode_tagged_fields(reader& r, const struct_desc& desc, const context& c, message& out) {
  auto count = r.read_unsigned_varint();
  if (!count) return tl::unexpected(std::move(count.error()));
  // Each entry takes at least a tag byte and a size byte.
  if (auto fits = r.check_count(*count, 2); !fits) return tl::unexpected(std::move(fits.error()));
  std::int64_t previous = -1;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto tag = r.read_unsigned_varint();
    if (!tag) return tl::unexpected(std::move(tag.error()));
    if (static_cast<std::int64_t>(*tag) <= previous) {
      return make_error(errc::invalid_tagged_fields,
                        "tag " + std::to_string(*tag) + " not ascending in " + std::string(desc.name));
    }
    previous = *tag;
    auto size = r.read_unsigned_varint();
    if (!size) return tl::unexpected(std::move(size.error()));
    auto payload = r.read_raw(*size);
    if (!payload) return tl::unexpected(std::move(payload.error()));
    std::size_t index = 0;
    const field_desc* f = find_tagged(desc, *tag, c, index);
    if (f == nullptr) {
      out.unknown_tags().push_back(tagged_field{*tag, bytes(payload->begin(), payload->end())});
      continue;
    }
    reader sub(*payload);
    auto v = decode_value(sub, field_shape(*f, c), c);
    if (!v) return tl::unexpected(at_field(std::move(v.error()), desc, *f));
    if (sub.remaining() != 0) {
      return make_error(errc::invalid_tagged_fields,
                        "tagged field " + std::string(desc.name) + "." + std::string(f->name) + " has trailing bytes");
    }
    out.fields()[index] = std::move(*v);
  }
  return {};
}

result<message> decode_struct(reader& r, const struct_desc& desc, const context& c) {
  message out(desc);
  for (std::size_t i = 0; i < desc.fields.size(); ++i) {
    const auto& f = desc.fields[i];
    if (!f.present_in(c.version) || f.tagged()) continue;
    auto v = decode_value(r, field_shape(f, c), c);
    if (!v) return tl::unexpected(at_field(std::move(v.error()), desc, f));
    out.fields()[i] = std::move(*v);
  }
  if (c.flexible) {
    if (auto tags = decode_tagged_fields(r, desc, c, out); !tags) return tl::unexpected(std::move(tags.error()));
  }
  return out;
}

result<void> encode_struct(writer& w, const message& m, const context& c);

result<void> mismatch(const shape& s) {
  return make_error(errc::schema_mismatch,
                    "value does not match field type " + std::to_string(static_cast<int>(s.type)));
}

result<void> encode_value(writer& w, const value& v, const shape& s, const context& c) {
  const encoding e = c.strings();
  switch (s.type) {
#define SUBSTRATE_KAFKA_ENCODE_FIXED(type_enum, cpp_type, write) \
  case field_type::type_enum: {                                  \
    const auto* p = std::get_if<cpp_type>(&v);                   \
    if (p == nullptr) return mismatch(s);                        \
    w.write(*p);                                                 \
    return {};                                                   \
  }
    SUBSTRATE_KAFKA_ENCODE_FIXED(boolean, bool, write_bool)
    SUBSTRATE_KAFKA_ENCODE_FIXED(int8, std::int8_t, write_i8)
    SUBSTRATE_KAFKA_ENCODE_FIXED(int16, std::int16_t, write_i16)
    SUBSTRATE_KAFKA_ENCODE_FIXED(uint16, std::uint16_t, write_u16)
    SUBSTRATE_KAFKA_ENCODE_FIXED(int32, std::int32_t, write_i32)
    SUBSTRATE_KAFKA_ENCODE_FIXED(int64, std::int64_t, write_i64)
    SUBSTRATE_KAFKA_ENCODE_FIXED(float64, double, write_f64)
    SUBSTRATE_KAFKA_ENCODE_FIXED(uuid, uuid, write_uuid)
#undef SUBSTRATE_KAFKA_ENCODE_FIXED
    case field_type::string: {
      if (!s.optional_type) {
        const auto* p = std::get_if<std::string>(&v);
        if (p == nullptr) return mismatch(s);
        return w.write_string(*p, e);
      }
      const auto* p = std::get_if<std::optional<std::string>>(&v);
      if (p == nullptr) return mismatch(s);
      if (!*p && !s.nullable) return make_error(errc::null_not_allowed);
      return w.write_nullable_string(*p, e);
    }
    case field_type::bytes: {
      if (!s.optional_type) {
        const auto* p = std::get_if<bytes>(&v);
        if (p == nullptr) return mismatch(s);
        w.write_bytes(*p, e);
        return {};
      }
      const auto* p = std::get_if<std::optional<bytes>>(&v);
      if (p == nullptr) return mismatch(s);
      if (!*p && !s.nullable) return make_error(errc::null_not_allowed);
      w.write_nullable_bytes(*p, e);
      return {};
    }
    case field_type::records: {
      const auto* p = std::get_if<records>(&v);
      if (p == nullptr) return mismatch(s);
      if (!p->data && !s.nullable) return make_error(errc::null_not_allowed);
      w.write_nullable_bytes(p->data, e);
      return {};
    }
    case field_type::structure: {
      const auto* p = std::get_if<message>(&v);
      if (p == nullptr || &p->desc() != s.nested) return mismatch(s);
      return encode_struct(w, *p, c);
    }
    case field_type::array: {
      if (s.element == field_type::structure) {
        const auto* p = std::get_if<struct_array>(&v);
        if (p == nullptr) return mismatch(s);
        if (p->null) {
          if (!s.nullable) return make_error(errc::null_not_allowed);
          w.write_array_count(-1, e);
          return {};
        }
        w.write_array_count(static_cast<std::int32_t>(p->items.size()), e);
        for (const auto& item : p->items) {
          if (&item.desc() != s.nested) return mismatch(s);
          if (auto ok = encode_struct(w, item, c); !ok) return ok;
        }
        return {};
      }
      const auto* p = std::get_if<value_array>(&v);
      if (p == nullptr) return mismatch(s);
      if (p->null) {
        if (!s.nullable) return make_error(errc::null_not_allowed);
        w.write_array_count(-1, e);
        return {};
      }
      w.write_array_count(static_cast<std::int32_t>(p->items.size()), e);
      const shape element = element_shape(s);
      for (const auto& item : p->items) {
        if (auto ok = encode_value(w, item, element, c); !ok) return ok;
      }
      return {};
    }
  }
  return mismatch(s);
}

result<void> encode_struct(writer& w, const message& m, const context& c) {
  const struct_desc& desc = m.desc();
  const auto fields = m.fields();
  for (std::size_t i = 0; i < desc.fields.size(); ++i) {
    const auto& f = desc.fields[i];
    if (!f.present_in(c.version) || f.tagged()) continue;
    if (auto ok = encode_value(w, fields[i], field_shape(f, c), c); !ok) {
      return tl::unexpected(at_field(std::move(ok.error()), desc, f));
    }
  }
  if (!c.flexible) return {};
  std::vector<tagged_field> tags = m.unknown_tags();
  for (std::size_t i = 0; i < desc.fields.size(); ++i) {
    const auto& f = desc.fields[i];
    if (!f.tagged() || !f.present_in(c.version) || fields[i] == default_value(f)) continue;
    writer payload;
    if (auto ok = encode_value(payload, fields[i], field_shape(f, c), c); !ok) {
      return tl::unexpected(at_field(std::move(ok.error()), desc, f));
    }
    tags.push_back(tagged_field{static_cast<std::uint32_t>(f.tag), payload.take()});
  }
  std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.tag < b.tag; });
  for (std::size_t i = 1; i < tags.size(); ++i) {
    if (tags[i].tag == tags[i - 1].tag) {
      return make_error(errc::invalid_tagged_fields,
                        "tag " + std::to_string(tags[i].tag) + " twice in " + std::string(desc.name));
    }
  }
  w.write_tagged_fields(tags);
  return {};
}

result<const api_schema*> schema_for(api_key key, std::int16_t version) {
  const api_schema* schema = find_schema(key);
  if (schema == nullptr) return make_error(errc::unknown_api_key, "api_key " + std::to_string(static_cast<int>(key)));
  if (!schema->describes(version)) {
    return make_error(errc::unsupported_version, std::string(schema->name) + " v" + std::to_string(version));
  }
  return schema;
}

}  // namespace

result<message> decode(api_key key, message_kind kind, std::int16_t version, std::span<const std::uint8_t> body) {
  auto schema = schema_for(key, version);
  if (!schema) return tl::unexpected(std::move(schema.error()));
  const context c{version, (*schema)->flexible(version)};
  reader r(body);
  auto out = decode_struct(r, (*schema)->body(kind), c);
  if (!out) return out;
  if (r.remaining() != 0) {
    return make_error(errc::trailing_bytes, std::to_string(r.remaining()) + " bytes after " +
                                                std::string((*schema)->body(kind).name) + " v" +
                                                std::to_string(version));
  }
  return out;
}

result<void> encode(api_key key, message_kind kind, std::int16_t version, const message& body, writer& out) {
  auto schema = schema_for(key, version);
  if (!schema) return tl::unexpected(std::move(schema.error()));
  if (&body.desc() != &(*schema)->body(kind)) {
    return make_error(errc::schema_mismatch,
                      std::string(body.desc().name) + " is not a " + std::string((*schema)->body(kind).name));
  }
  return encode_struct(out, body, context{version, (*schema)->flexible(version)});
}

result<bytes> encode(api_key key, message_kind kind, std::int16_t version, const message& body) {
  writer w;
  if (auto ok = encode(key, kind, version, body, w); !ok) return tl::unexpected(std::move(ok.error()));
  return w.take();
}

}  // namespace substrate::kafka
