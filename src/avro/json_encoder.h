#pragma once
// JSON text -> Avro binary, against a schema. The gateway's produce path (contracts.md 3.1.5).
//
// Accepted JSON per Avro type (see README.md, "JSON mapping"):
// - record: an object; fields are taken by name in any order, keys not in the schema are ignored
//   (or rejected with unknown_fields::reject), a missing field takes its default, a missing
//   field without default is an error.
// - int/long: an integral number in range (1.0 counts as 1); float/double: any number, or the
//   strings "NaN", "Infinity", "-Infinity".
// - bytes/fixed: a string whose code points are all <= U+00FF, one byte each (the Avro JSON
//   encoding); fixed must have exactly `size` of them.
// - string: a string; with logicalType uuid it must be a canonical 36-character UUID.
// - enum: one of the symbols, as a string.
// - union: both the Avro JSON encoding {"<branch name>": value} and the plain value as JS clients
//   send it (null, or a value of the first branch whose type accepts it). An object with exactly
//   one key naming a branch is read as the tagged form.
//
// Errors name the JSON path, the expected type and what was found:
//   `$.payload.user_id: expected string (uuid), got number 42`.
//
// Owner and threading: one encoder per thread (it reuses a JSON parser and buffers); not
// thread-safe. The schema is borrowed for the duration of the call only.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "avro/schema.h"
#include "core/result.h"

namespace substrate::avro {

enum class unknown_fields : std::uint8_t { ignore, reject };

struct encode_options {
  unknown_fields unknown = unknown_fields::ignore;
  // Nesting limit of the JSON input and of recursive schemas.
  std::size_t depth_max = 64;
  // JSON documents larger than this are rejected before parsing.
  std::size_t json_bytes_max = 16 << 20;
  // Reject strings of logicalType uuid that are not UUIDs. Off only to re-encode data decoded
  // from another writer, which the decoder does not police (it reads what was written).
  bool validate_uuid = true;
};

class json_encoder {
public:
  explicit json_encoder(encode_options options = {});
  ~json_encoder();
  json_encoder(json_encoder&&) noexcept;
  json_encoder& operator=(json_encoder&&) noexcept;

  // Appends the Avro binary encoding of the JSON document `json` to `out`. On error `out` keeps
  // its previous contents.
  [[nodiscard]] result<void> encode(const schema& s, std::string_view json, std::string& out);
  // The same for one node of the schema (a field type, a union branch).
  [[nodiscard]] result<void> encode(const schema& s, node_id type, std::string_view json, std::string& out);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::avro
