#pragma once
// An unordered map keyed by std::string that is looked up by std::string_view, without building
// a key string per lookup (C++20 heterogeneous lookup). For hot lookups by text the caller holds
// as a view: a bearer token of a few hundred bytes, a caller id.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace substrate::core {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// `Hash` may hash less than the whole key (it must be transparent too); equality always compares
// the whole key.
template <class Value, class Hash = string_hash>
using string_map = std::unordered_map<std::string, Value, Hash, std::equal_to<>>;

}  // namespace substrate::core
