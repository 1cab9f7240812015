#pragma once
// Fills a message with random values that are representable in one version: only fields present
// in that version are set, null only where the field is nullable then. Used by the property
// round-trip tests and to write the fuzz seed corpus.

#include <random>
#include <string>

#include "kafka/protocol/message.h"
#include "kafka/protocol/schema.h"

namespace substrate::kafka::testing {

class random_filler {
public:
  explicit random_filler(std::uint32_t seed) : rng_(seed) {}

  void fill(message& m, std::int16_t version) {
    const auto& fields = m.desc().fields;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (!fields[i].present_in(version)) continue;
      m.fields()[i] = random_value(fields[i], version);
    }
  }

private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool coin() { return pick(2) == 1; }

  template <class T>
  T number() {
    // Mix small values (the common case, and default-like) with full-range ones.
    if (coin()) return static_cast<T>(pick(3) - 1);
    return static_cast<T>(std::uniform_int_distribution<std::int64_t>()(rng_));
  }

  std::string text() {
    std::string s(static_cast<std::size_t>(pick(12)), 'a');
    for (auto& c : s) c = static_cast<char>('a' + pick(26));
    return s;
  }

  bytes blob() {
    bytes b(static_cast<std::size_t>(pick(20)));
    for (auto& c : b) c = static_cast<std::uint8_t>(pick(256));
    return b;
  }

  value primitive(field_type type, bool optional_type, bool nullable, const struct_desc* nested, std::int16_t version) {
    const bool null = nullable && pick(4) == 0;
    switch (type) {
      case field_type::boolean:
        return value(coin());
      case field_type::int8:
        return value(number<std::int8_t>());
      case field_type::int16:
        return value(number<std::int16_t>());
      case field_type::uint16:
        return value(number<std::uint16_t>());
      case field_type::int32:
        return value(number<std::int32_t>());
      case field_type::int64:
        return value(number<std::int64_t>());
      case field_type::float64:
        return value(static_cast<double>(number<std::int32_t>()) / 3.0);
      case field_type::uuid: {
        uuid u;
        for (auto& b : u.data) b = static_cast<std::uint8_t>(pick(256));
        return value(u);
      }
      case field_type::string:
        if (!optional_type) return value(text());
        return null ? value(std::optional<std::string>()) : value(std::optional<std::string>(text()));
      case field_type::bytes:
        if (!optional_type) return value(blob());
        return null ? value(std::optional<bytes>()) : value(std::optional<bytes>(blob()));
      case field_type::records:
        return null ? value(records{}) : value(records{blob()});
      case field_type::structure: {
        message m(*nested);
        fill(m, version);
        return value(std::move(m));
      }
      case field_type::array:
        break;
    }
    return value(false);
  }

  value random_value(const field_desc& f, std::int16_t version) {
    const bool nullable = f.nullable_in(version);
    if (f.type != field_type::array) return primitive(f.type, f.nullable_ever(), nullable, f.nested, version);
    const bool null = nullable && pick(4) == 0;
    const int count = null ? 0 : pick(4);
    if (f.element == field_type::structure) {
      struct_array a{.null = null};
      for (int i = 0; i < count; ++i) {
        message m(*f.nested);
        fill(m, version);
        a.items.push_back(std::move(m));
      }
      return value(std::move(a));
    }
    value_array a{.null = null};
    for (int i = 0; i < count; ++i) a.items.push_back(primitive(f.element, false, false, nullptr, version));
    return value(std::move(a));
  }

  std::mt19937 rng_;
};

// What a message looks like after a round trip through `version`: fields that do not exist in
// that version hold their defaults (recursively).
inline void restrict_to_version(message& m, std::int16_t version) {
  const auto& fields = m.desc().fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    value& v = m.fields()[i];
    if (!fields[i].present_in(version)) {
      v = default_value(fields[i]);
    } else if (auto* child = std::get_if<message>(&v)) {
      restrict_to_version(*child, version);
    } else if (auto* items = std::get_if<struct_array>(&v)) {
      for (auto& item : items->items) restrict_to_version(item, version);
    }
  }
}

}  // namespace substrate::kafka::testing
