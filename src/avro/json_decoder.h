#pragma once
// Avro binary -> JSON text, against the schema the bytes were written with. The inverse of
// json_encoder: the JSON it writes encodes back to the same bytes.
//
// Output per type: numbers as JSON numbers (a float as the exact double value of the float; NaN
// and infinities as the strings "NaN", "Infinity", "-Infinity"), bytes and fixed as strings of
// code points U+0000..U+00FF, enums as their symbol, unions per `union_style`.
//
// Hostile input never crashes or over-allocates: every length is checked against the remaining
// bytes before use, negative lengths are rejected, array and map block counts are bounded by the
// remaining bytes (and by `zero_byte_items_max` for items that encode to no bytes at all),
// recursion by `depth_max`, and strings must be valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "avro/schema.h"
#include "core/result.h"

namespace substrate::avro {

enum class union_style : std::uint8_t {
  // ["null", T] unions as null or the plain T value (what consumers and JS clients expect,
  // contracts.md 0.2); every other union in the Avro JSON encoding {"branch": value}.
  nullable_plain,
  // Every non-null union value as {"branch": value}: the Avro specification's JSON encoding.
  tagged,
  // Every union value plain (as avsc's wrapUnions "never"); ambiguous for unions like
  // ["int", "long"], which then re-encode as their first fitting branch.
  plain,
};

struct decode_options {
  union_style unions = union_style::nullable_plain;
  std::size_t depth_max = 64;
  // Total array items and map entries whose type encodes to zero bytes (null, empty records)
  // in one datum; without a bound 10 bytes could ask for 2^63 of them.
  std::size_t zero_byte_items_max = 1 << 16;
};

// Appends the JSON of the one datum that `bytes` must hold exactly (trailing bytes are an
// error). On error `out` keeps its previous contents.
[[nodiscard]] result<void> decode_json(const schema& s, std::span<const std::uint8_t> bytes, std::string& out,
                                       const decode_options& options = {});
// The same starting at a node of the schema.
[[nodiscard]] result<void> decode_json(const schema& s, node_id type, std::span<const std::uint8_t> bytes,
                                       std::string& out, const decode_options& options = {});

// Appends `s` as a JSON string literal (quotes and escapes; `s` must be valid UTF-8).
void append_json_string(std::string& out, std::string_view s);
// The same for bytes that may not be UTF-8: appends them escaped and returns whether they were
// valid UTF-8 (when not, the caller discards what was appended).
[[nodiscard]] bool append_json_string_checked(std::string& out, std::string_view s);

}  // namespace substrate::avro
