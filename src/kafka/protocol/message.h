#pragma once
// The generic value tree that the codec reads into and writes from. A `message` is one instance
// of a `struct_desc` (a request or response body, or a nested struct): it holds one `value` per
// described field, in description order, for every field of every version. Fields that do not
// exist in the version being encoded are ignored by the encoder, and hold their defaults after
// a decode, exactly as in Kafka's generated classes.
//
// Typed access by name: `msg.i32("timeout_ms")`, `msg.array("topics")`. Asking for a name the
// description does not have, or with the wrong type, is a bug in the caller (names are string
// literals in broker code, never wire input), so those accessors assert with a message listing
// the available fields. `find()` returns the same failure as an error value instead.
//
// Unknown tagged fields read from the wire are kept in `unknown_tags()` and written back by the
// encoder, so a message survives a decode/encode cycle byte for byte (KIP-482 allows either
// preserving or dropping them; preserving makes round trips exact).
//
// Owner: whoever decoded or built it; plain value type, no shared state, any thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "kafka/protocol/api_key.h"
#include "kafka/protocol/primitives.h"
#include "kafka/protocol/schema.h"

namespace substrate::kafka {

// A RecordBatch byte string, carried untouched (never parsed by this library).
struct records {
  std::optional<bytes> data;
  friend bool operator==(const records&, const records&) = default;
};

struct value;

class message {
public:
  explicit message(const struct_desc& desc);
  message(const message&);
  message(message&&) noexcept;
  message& operator=(const message&);
  message& operator=(message&&) noexcept;
  ~message();

  [[nodiscard]] const struct_desc& desc() const { return *desc_; }
  // One value per described field, in description order.
  [[nodiscard]] std::span<value> fields();
  [[nodiscard]] std::span<const value> fields() const;
  [[nodiscard]] std::vector<tagged_field>& unknown_tags() { return unknown_tags_; }
  [[nodiscard]] const std::vector<tagged_field>& unknown_tags() const { return unknown_tags_; }

  // The index of field `name`, or errc::unknown_field naming the struct and its fields.
  [[nodiscard]] result<std::size_t> find(std::string_view name) const;

  // The value of field `name`; asserts that the field exists.
  [[nodiscard]] value& get(std::string_view name);
  [[nodiscard]] const value& get(std::string_view name) const;
  // As `get`, and asserts that the value holds a T.
  template <class T>
  [[nodiscard]] T& as(std::string_view name);
  template <class T>
  [[nodiscard]] const T& as(std::string_view name) const;

  // Typed shorthands. Nullable strings and bytes are std::optional; arrays of structs are
  // std::vector<message>, arrays of primitives std::vector<value>.
  bool& boolean(std::string_view name) { return as<bool>(name); }
  std::int8_t& i8(std::string_view name) { return as<std::int8_t>(name); }
  std::int16_t& i16(std::string_view name) { return as<std::int16_t>(name); }
  std::uint16_t& u16(std::string_view name) { return as<std::uint16_t>(name); }
  std::int32_t& i32(std::string_view name) { return as<std::int32_t>(name); }
  std::int64_t& i64(std::string_view name) { return as<std::int64_t>(name); }
  double& f64(std::string_view name) { return as<double>(name); }
  kafka::uuid& id(std::string_view name) { return as<kafka::uuid>(name); }
  std::string& str(std::string_view name) { return as<std::string>(name); }
  std::optional<std::string>& nullable_str(std::string_view name) { return as<std::optional<std::string>>(name); }
  kafka::bytes& blob(std::string_view name) { return as<kafka::bytes>(name); }
  std::optional<kafka::bytes>& nullable_blob(std::string_view name) { return as<std::optional<kafka::bytes>>(name); }
  kafka::records& batches(std::string_view name) { return as<kafka::records>(name); }
  message& child(std::string_view name) { return as<message>(name); }
  std::vector<message>& array(std::string_view name);
  std::vector<value>& values(std::string_view name);

  bool boolean(std::string_view name) const { return as<bool>(name); }
  std::int8_t i8(std::string_view name) const { return as<std::int8_t>(name); }
  std::int16_t i16(std::string_view name) const { return as<std::int16_t>(name); }
  std::uint16_t u16(std::string_view name) const { return as<std::uint16_t>(name); }
  std::int32_t i32(std::string_view name) const { return as<std::int32_t>(name); }
  std::int64_t i64(std::string_view name) const { return as<std::int64_t>(name); }
  double f64(std::string_view name) const { return as<double>(name); }
  const kafka::uuid& id(std::string_view name) const { return as<kafka::uuid>(name); }
  const std::string& str(std::string_view name) const { return as<std::string>(name); }
  const std::optional<std::string>& nullable_str(std::string_view name) const {
    return as<std::optional<std::string>>(name);
  }
  const kafka::bytes& blob(std::string_view name) const { return as<kafka::bytes>(name); }
  const std::optional<kafka::bytes>& nullable_blob(std::string_view name) const {
    return as<std::optional<kafka::bytes>>(name);
  }
  const kafka::records& batches(std::string_view name) const { return as<kafka::records>(name); }
  const message& child(std::string_view name) const { return as<message>(name); }
  const std::vector<message>& array(std::string_view name) const;
  const std::vector<value>& values(std::string_view name) const;

  // Null state of a nullable array (null is distinct from empty).
  [[nodiscard]] bool is_null(std::string_view name) const;
  void set_null(std::string_view name, bool null);

  // Appends a default element to the struct array `name` and returns it.
  message& append(std::string_view name);

  friend bool operator==(const message& a, const message& b);

private:
  // `wanted` is the index of the requested alternative in value_variant.
  [[noreturn]] void wrong_type(std::string_view name, std::size_t wanted) const;

  const struct_desc* desc_;
  std::vector<value> fields_;
  std::vector<tagged_field> unknown_tags_;
};

// An array of structs; `null` only for versions where the field is nullable.
struct struct_array {
  std::vector<message> items;
  bool null = false;
  friend bool operator==(const struct_array&, const struct_array&) = default;
};

// An array of primitives (all items hold the element type of the field).
struct value_array {
  std::vector<value> items;
  bool null = false;
  friend bool operator==(const value_array& a, const value_array& b);
};

using value_variant =
    std::variant<bool, std::int8_t, std::int16_t, std::uint16_t, std::int32_t, std::int64_t, double, uuid, std::string,
                 std::optional<std::string>, bytes, std::optional<bytes>, records, message, struct_array, value_array>;

// One field's value. The alternative is fixed by the field's description (see `default_value`).
struct value : value_variant {
  using value_variant::value_variant;
  using value_variant::operator=;
  // Doubles compare by bit pattern, so a NaN equals itself and round trips compare equal.
  friend bool operator==(const value& a, const value& b);
};

// The default value of a field as its description states it; also fixes the alternative.
[[nodiscard]] value default_value(const field_desc& field);

// A default-valued request or response of an API; asserts that the API is described.
[[nodiscard]] message make_message(api_key key, message_kind kind);

inline std::span<value> message::fields() {
  return fields_;
}
inline std::span<const value> message::fields() const {
  return fields_;
}

namespace detail {

template <class T, class Variant>
struct alternative_index;
template <class T, class... Ts>
struct alternative_index<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool matches[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i) {
      if (matches[i]) return i;
    }
    return sizeof...(Ts);
  }();
};

}  // namespace detail

template <class T>
T& message::as(std::string_view name) {
  value& v = get(name);
  if (auto* p = std::get_if<T>(&v)) return *p;
  wrong_type(name, detail::alternative_index<T, value_variant>::value);
}

template <class T>
const T& message::as(std::string_view name) const {
  const value& v = get(name);
  if (const auto* p = std::get_if<T>(&v)) return *p;
  wrong_type(name, detail::alternative_index<T, value_variant>::value);
}

}  // namespace substrate::kafka
