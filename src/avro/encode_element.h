#pragma once
// Internal: encodes one parsed simdjson element against a schema node. Shared by json_encoder
// (data) and the schema parser (field defaults, which follow slightly different rules: a union
// default is always a value of the first branch, never tagged).

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "avro/schema.h"
#include "core/result.h"

namespace substrate::avro::detail {

enum class json_mode : std::uint8_t { data, field_default };

struct element_encode_options {
  json_mode mode = json_mode::data;
  bool reject_unknown_fields = false;
  bool validate_uuid = true;
  std::size_t depth_max = 64;
};

// Buffers reused from one call to the next, so a steady stream of encodes does not allocate.
struct encode_scratch {
  struct slot {
    simdjson::dom::element value;
    bool present = false;
  };
  // One step of the path from the root to a failing value, collected while unwinding.
  struct path_step {
    enum class what : std::uint8_t { field, index, key } type;
    std::string_view name;  // field (points into the schema) or map key (into the document)
    std::size_t index = 0;
  };
  std::vector<std::vector<slot>> slots;  // per nesting depth: the value of each record field
  std::vector<path_step> path;
  std::string bytes;
};

// Appends the encoding of `value` to `out`; on error `out` keeps its previous contents and the
// error context starts with the JSON path (`$` for the root).
[[nodiscard]] result<void> encode_element(const schema& s, node_id type, simdjson::dom::element value,
                                          const element_encode_options& options, std::string& out,
                                          encode_scratch& scratch);
[[nodiscard]] result<void> encode_element(const schema& s, node_id type, simdjson::dom::element value,
                                          const element_encode_options& options, std::string& out);

}  // namespace substrate::avro::detail
