#pragma once
// Descriptions of Kafka messages as data. Each API's request and response is described once, as
// a tree of `struct_desc`s whose fields carry a type, the versions in which they exist, the
// version from which they may be null, a tag if they are tagged fields, and a default. The one
// generic codec (codec.h) interprets these descriptions; nothing here encodes or decodes.
//
// The descriptions follow apache/kafka's JSON message definitions
// (clients/src/main/resources/common/message/*.json, 3.8) field by field and in order, with
// names converted to snake_case. See docs/formats/kafka-protocol.md for how to add an API or a
// version.

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "kafka/protocol/api_key.h"

namespace substrate::kafka {

// "From this version on, forever": the open upper end of a version range, and the value of
// `nullable_from` / `flexible_from` that means "never".
inline constexpr std::int16_t version_unbounded = std::numeric_limits<std::int16_t>::max();

enum class field_type : std::uint8_t {
  boolean,
  int8,
  int16,
  uint16,
  int32,
  int64,
  float64,
  uuid,
  string,
  bytes,
  records,    // a RecordBatch byte string, carried untouched (always nullable on the wire)
  structure,  // one nested struct (`nested`)
  array,      // an array of `element` (a primitive, or `structure` with `nested`)
};

struct struct_desc;

struct field_desc {
  std::string_view name;
  field_type type = field_type::int32;
  field_type element = field_type::int32;  // arrays only
  const struct_desc* nested = nullptr;     // structures and arrays of structures
  std::int16_t version_min = 0;
  std::int16_t version_max = version_unbounded;
  std::int16_t nullable_from = version_unbounded;
  std::int32_t tag = -1;  // >= 0: a tagged field (only in flexible versions)
  // Defaults: numbers and bools use `default_number`; strings default to "" or, when
  // `default_null`, to null. Arrays default to empty, structures to all-default fields.
  std::int64_t default_number = 0;
  bool default_null = false;

  [[nodiscard]] constexpr bool present_in(std::int16_t version) const {
    return version >= version_min && version <= version_max;
  }
  [[nodiscard]] constexpr bool nullable_in(std::int16_t version) const { return version >= nullable_from; }
  [[nodiscard]] constexpr bool nullable_ever() const { return nullable_from != version_unbounded; }
  [[nodiscard]] constexpr bool tagged() const { return tag >= 0; }
  [[nodiscard]] constexpr bool is_struct_array() const {
    return type == field_type::array && element == field_type::structure;
  }

  // Builders, so a description reads like the JSON it comes from.
  [[nodiscard]] constexpr field_desc until(std::int16_t v) const {
    auto c = *this;
    c.version_max = v;
    return c;
  }
  [[nodiscard]] constexpr field_desc nullable(std::int16_t from = 0) const {
    auto c = *this;
    c.nullable_from = from;
    return c;
  }
  [[nodiscard]] constexpr field_desc tagged(std::int32_t t) const {
    auto c = *this;
    c.tag = t;
    return c;
  }
  [[nodiscard]] constexpr field_desc fallback(std::int64_t number) const {
    auto c = *this;
    c.default_number = number;
    return c;
  }
  [[nodiscard]] constexpr field_desc fallback_null() const {
    auto c = *this;
    c.default_null = true;
    return c;
  }
};

struct struct_desc {
  std::string_view name;  // Kafka's name, e.g. "MetadataResponseTopic"
  std::span<const field_desc> fields;
};

// A field of a primitive type present from version `since`.
constexpr field_desc field(std::string_view name, field_type type, std::int16_t since = 0) {
  return field_desc{.name = name, .type = type, .version_min = since};
}
// An array of primitives.
constexpr field_desc array_of(std::string_view name, field_type element, std::int16_t since = 0) {
  return field_desc{.name = name, .type = field_type::array, .element = element, .version_min = since};
}
// An array of structs.
constexpr field_desc array_of(std::string_view name, const struct_desc& element, std::int16_t since = 0) {
  return field_desc{.name = name,
                    .type = field_type::array,
                    .element = field_type::structure,
                    .nested = &element,
                    .version_min = since};
}
// One nested struct.
constexpr field_desc struct_of(std::string_view name, const struct_desc& s, std::int16_t since = 0) {
  return field_desc{.name = name, .type = field_type::structure, .nested = &s, .version_min = since};
}

// One API: its request and response descriptions and version ranges.
struct api_schema {
  api_key key;
  std::string_view name;  // "Metadata"
  // Versions the codec can encode and decode (described here). May exceed the advertised range.
  std::int16_t version_min;
  std::int16_t version_max;
  // First flexible version (compact encodings and tagged fields), or version_unbounded.
  std::int16_t flexible_from;
  // The range the broker advertises in ApiVersions (spec 2.3); inside [version_min, version_max].
  std::int16_t advertised_min;
  std::int16_t advertised_max;
  const struct_desc* request;
  const struct_desc* response;

  [[nodiscard]] constexpr bool flexible(std::int16_t version) const { return version >= flexible_from; }
  [[nodiscard]] constexpr bool describes(std::int16_t version) const {
    return version >= version_min && version <= version_max;
  }
  [[nodiscard]] constexpr const struct_desc& body(message_kind kind) const {
    return kind == message_kind::request ? *request : *response;
  }
};

// Every described API, in api_key order.
std::span<const api_schema* const> all_schemas();
// nullptr when the key is not described.
const api_schema* find_schema(api_key key);

}  // namespace substrate::kafka
