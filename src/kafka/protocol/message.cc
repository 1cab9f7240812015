#include "kafka/protocol/message.h"

#include <bit>

#include "core/assert.h"
#include "kafka/protocol/errc.h"

namespace substrate::kafka {

namespace {

constexpr std::string_view alternative_names[] = {
    "bool",
    "int8",
    "int16",
    "uint16",
    "int32",
    "int64",
    "float64",
    "uuid",
    "string",
    "nullable string",
    "bytes",
    "nullable bytes",
    "records",
    "struct",
    "array of structs",
    "array of primitives",
};
static_assert(std::size(alternative_names) == std::variant_size_v<value_variant>);

std::string field_list(const struct_desc& desc) {
  std::string out;
  for (const auto& f : desc.fields) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

value default_primitive(field_type type, std::int64_t number) {
  switch (type) {
    case field_type::boolean:
      return value(number != 0);
    case field_type::int8:
      return value(static_cast<std::int8_t>(number));
    case field_type::int16:
      return value(static_cast<std::int16_t>(number));
    case field_type::uint16:
      return value(static_cast<std::uint16_t>(number));
    case field_type::int32:
      return value(static_cast<std::int32_t>(number));
    case field_type::int64:
      return value(number);
    case field_type::float64:
      return value(static_cast<double>(number));
    case field_type::uuid:
      return value(uuid{});
    case field_type::string:
      return value(std::string());
    case field_type::bytes:
      return value(bytes());
    case field_type::records:
      return value(records{});
    case field_type::structure:
    case field_type::array:
      break;
  }
  SUBSTRATE_ASSERT(false, "field type {} is not a primitive", static_cast<int>(type));
}

}  // namespace

value default_value(const field_desc& field) {
  switch (field.type) {
    case field_type::structure:
      SUBSTRATE_ASSERT(field.nested != nullptr, "struct field {} has no description", field.name);
      return value(message(*field.nested));
    case field_type::array:
      if (field.element == field_type::structure) return value(struct_array{.null = field.default_null});
      return value(value_array{.null = field.default_null});
    case field_type::string:
      if (!field.nullable_ever()) return value(std::string());
      return field.default_null ? value(std::optional<std::string>()) : value(std::optional<std::string>(""));
    case field_type::bytes:
      if (!field.nullable_ever()) return value(bytes());
      return field.default_null ? value(std::optional<bytes>()) : value(std::optional<bytes>(bytes()));
    case field_type::records:
      // Kafka's default for records is null; an empty byte string is what brokers send.
      return value(records{});
    default:
      return default_primitive(field.type, field.default_number);
  }
}

message::message(const struct_desc& desc) : desc_(&desc) {
  fields_.reserve(desc.fields.size());
  for (const auto& f : desc.fields) fields_.push_back(default_value(f));
}

message::message(const message&) = default;
message::message(message&&) noexcept = default;
message& message::operator=(const message&) = default;
message& message::operator=(message&&) noexcept = default;
message::~message() = default;

result<std::size_t> message::find(std::string_view name) const {
  for (std::size_t i = 0; i < desc_->fields.size(); ++i) {
    if (desc_->fields[i].name == name) return i;
  }
  return make_error(errc::unknown_field, std::string(desc_->name) + " has no field '" + std::string(name) +
                                             "'; its fields are: " + field_list(*desc_));
}

value& message::get(std::string_view name) {
  auto index = find(name);
  SUBSTRATE_ASSERT(index.has_value(), "{}", index.error().message());
  return fields_[*index];
}

const value& message::get(std::string_view name) const {
  auto index = find(name);
  SUBSTRATE_ASSERT(index.has_value(), "{}", index.error().message());
  return fields_[*index];
}

void message::wrong_type(std::string_view name, std::size_t wanted) const {
  const std::string_view wanted_name = wanted < std::size(alternative_names) ? alternative_names[wanted] : "?";
  SUBSTRATE_ASSERT(false, "field {}.{} is a {}, not a {}", desc_->name, name, alternative_names[get(name).index()],
                   wanted_name);
  std::abort();
}

std::vector<message>& message::array(std::string_view name) {
  return as<struct_array>(name).items;
}
const std::vector<message>& message::array(std::string_view name) const {
  return as<struct_array>(name).items;
}
std::vector<value>& message::values(std::string_view name) {
  return as<value_array>(name).items;
}
const std::vector<value>& message::values(std::string_view name) const {
  return as<value_array>(name).items;
}

bool message::is_null(std::string_view name) const {
  const value& v = get(name);
  if (const auto* a = std::get_if<struct_array>(&v)) return a->null;
  if (const auto* a = std::get_if<value_array>(&v)) return a->null;
  if (const auto* s = std::get_if<std::optional<std::string>>(&v)) return !s->has_value();
  if (const auto* b = std::get_if<std::optional<bytes>>(&v)) return !b->has_value();
  if (const auto* r = std::get_if<records>(&v)) return !r->data.has_value();
  wrong_type(name, detail::alternative_index<struct_array, value_variant>::value);
}

void message::set_null(std::string_view name, bool null) {
  value& v = get(name);
  if (auto* a = std::get_if<struct_array>(&v)) {
    a->null = null;
    if (null) a->items.clear();
  } else if (auto* p = std::get_if<value_array>(&v)) {
    p->null = null;
    if (null) p->items.clear();
  } else {
    wrong_type(name, detail::alternative_index<struct_array, value_variant>::value);
  }
}

message& message::append(std::string_view name) {
  auto index = find(name);
  SUBSTRATE_ASSERT(index.has_value(), "{}", index.error().message());
  const field_desc& f = desc_->fields[*index];
  SUBSTRATE_ASSERT(f.is_struct_array(), "field {}.{} is not an array of structs", desc_->name, name);
  auto& items = std::get<struct_array>(fields_[*index]).items;
  return items.emplace_back(*f.nested);
}

bool operator==(const message& a, const message& b) {
  return a.desc_ == b.desc_ && a.fields_ == b.fields_ && a.unknown_tags_ == b.unknown_tags_;
}

bool operator==(const value_array& a, const value_array& b) {
  return a.null == b.null && a.items == b.items;
}

bool operator==(const value& a, const value& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<double>(&a)) {
    return std::bit_cast<std::uint64_t>(*x) == std::bit_cast<std::uint64_t>(std::get<double>(b));
  }
  return static_cast<const value_variant&>(a) == static_cast<const value_variant&>(b);
}

message make_message(api_key key, message_kind kind) {
  const api_schema* schema = find_schema(key);
  SUBSTRATE_ASSERT(schema != nullptr, "api key {} is not described", static_cast<int>(key));
  return message(schema->body(kind));
}

}  // namespace substrate::kafka
