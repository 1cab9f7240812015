#include "avro/json_encoder.h"

#include <simdjson.h>

#include <fmt/format.h>

#include "avro/encode_element.h"
#include "avro/errc.h"

namespace substrate::avro {

struct json_encoder::impl {
  encode_options options;
  detail::element_encode_options element_options;
  simdjson::dom::parser parser;
  // The input copied with simdjson's padding, reused (simdjson reads up to 64 bytes past the end).
  std::string padded;
  detail::encode_scratch scratch;
};

json_encoder::json_encoder(encode_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = options;
  impl_->element_options.reject_unknown_fields = options.unknown == unknown_fields::reject;
  impl_->element_options.depth_max = options.depth_max;
  impl_->element_options.validate_uuid = options.validate_uuid;
}
json_encoder::~json_encoder() = default;
json_encoder::json_encoder(json_encoder&&) noexcept = default;
json_encoder& json_encoder::operator=(json_encoder&&) noexcept = default;

result<void> json_encoder::encode(const schema& s, std::string_view json, std::string& out) {
  return encode(s, s.root(), json, out);
}

result<void> json_encoder::encode(const schema& s, node_id type, std::string_view json, std::string& out) {
  auto& m = *impl_;
  if (json.size() > m.options.json_bytes_max) {
    return make_error(errc::invalid_json, fmt::format("JSON document of {} bytes exceeds the limit of {}", json.size(),
                                                      m.options.json_bytes_max));
  }
  m.padded.assign(json);
  m.padded.resize(json.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  if (auto err = m.parser.parse(m.padded.data(), json.size(), false).get(root)) {
    if (err == simdjson::DEPTH_ERROR) return make_error(errc::too_deep, "JSON nests too deeply");
    return make_error(errc::invalid_json, simdjson::error_message(err));
  }
  return detail::encode_element(s, type, root, m.element_options, out, m.scratch);
}

}  // namespace substrate::avro
