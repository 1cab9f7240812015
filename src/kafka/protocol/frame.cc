#include "kafka/protocol/frame.h"

#include "kafka/protocol/api_versions.h"
#include "kafka/protocol/codec.h"
#include "kafka/protocol/errc.h"
#include "kafka/protocol/schema.h"

namespace substrate::kafka {

result<std::int32_t> read_frame_size(std::span<const std::uint8_t, frame_size_prefix_bytes> prefix,
                                     std::int32_t frame_bytes_max) {
  reader r(prefix);
  auto size = r.read_i32();
  if (!size) return size;
  if (*size < 0) return make_error(errc::invalid_length, "frame size " + std::to_string(*size));
  if (*size > frame_bytes_max) {
    return make_error(errc::frame_too_large,
                      std::to_string(*size) + " bytes, limit " + std::to_string(frame_bytes_max));
  }
  return size;
}

result<std::optional<frame_view>> next_frame(std::span<const std::uint8_t> buffer, std::int32_t frame_bytes_max) {
  if (buffer.size() < frame_size_prefix_bytes) return std::optional<frame_view>();
  auto size = read_frame_size(buffer.first<frame_size_prefix_bytes>(), frame_bytes_max);
  if (!size) return tl::unexpected(std::move(size.error()));
  const auto body_bytes = static_cast<std::size_t>(*size);
  if (buffer.size() - frame_size_prefix_bytes < body_bytes) return std::optional<frame_view>();
  return std::optional<frame_view>(
      frame_view{buffer.subspan(frame_size_prefix_bytes, body_bytes), frame_size_prefix_bytes + body_bytes});
}

std::int16_t request_header_version(api_key key, std::int16_t api_version) {
  return flexible(key, api_version) ? 2 : 1;
}

std::int16_t response_header_version(api_key key, std::int16_t api_version) {
  if (key == api_key::api_versions) return 0;
  return flexible(key, api_version) ? 1 : 0;
}

result<parsed_request> parse_request(std::span<const std::uint8_t> frame) {
  reader r(frame);
  auto key = r.read_i16();
  if (!key) return tl::unexpected(std::move(key.error()));
  auto version = r.read_i16();
  if (!version) return tl::unexpected(std::move(version.error()));
  auto correlation_id = r.read_i32();
  if (!correlation_id) return tl::unexpected(std::move(correlation_id.error()));
  parsed_request out;
  out.header.key = static_cast<api_key>(*key);
  out.header.api_version = *version;
  out.header.correlation_id = *correlation_id;
  if (find_schema(out.header.key) == nullptr) {
    return make_error(errc::unknown_api_key,
                      "api_key " + std::to_string(*key) + ", correlation_id " + std::to_string(*correlation_id));
  }
  auto client_id = r.read_nullable_string(encoding::classic);
  if (!client_id) return tl::unexpected(std::move(client_id.error()));
  out.header.client_id = std::move(*client_id);
  out.header_version = request_header_version(out.header.key, *version);
  if (out.header_version >= 2) {
    // Request headers define no tags we use; read them only to skip them.
    auto tags = r.read_tagged_fields();
    if (!tags) return tl::unexpected(std::move(tags.error()));
  }
  out.body = frame.subspan(r.position());
  return out;
}

result<parsed_response> parse_response(api_key key, std::int16_t api_version, std::span<const std::uint8_t> frame) {
  reader r(frame);
  auto correlation_id = r.read_i32();
  if (!correlation_id) return tl::unexpected(std::move(correlation_id.error()));
  if (response_header_version(key, api_version) >= 1) {
    auto tags = r.read_tagged_fields();
    if (!tags) return tl::unexpected(std::move(tags.error()));
  }
  return parsed_response{*correlation_id, frame.subspan(r.position())};
}

namespace {

// Starts a frame with a placeholder size, to be patched by `finish_frame`.
writer start_frame() {
  writer w;
  w.write_i32(0);
  return w;
}

result<bytes> finish_frame(writer& w) {
  const std::size_t size = w.size() - frame_size_prefix_bytes;
  if (size > static_cast<std::size_t>(INT32_MAX)) return make_error(errc::frame_too_large);
  w.patch_i32(0, static_cast<std::int32_t>(size));
  return w.take();
}

}  // namespace

result<bytes> encode_request(const request_header& header, const message& body) {
  writer w = start_frame();
  w.write_i16(static_cast<std::int16_t>(header.key));
  w.write_i16(header.api_version);
  w.write_i32(header.correlation_id);
  if (auto ok = w.write_nullable_string(header.client_id, encoding::classic); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  if (request_header_version(header.key, header.api_version) >= 2) w.write_tagged_fields({});
  if (auto ok = encode(header.key, message_kind::request, header.api_version, body, w); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  return finish_frame(w);
}

result<bytes> encode_response(api_key key, std::int16_t api_version, std::int32_t correlation_id, const message& body) {
  writer w = start_frame();
  w.write_i32(correlation_id);
  if (response_header_version(key, api_version) >= 1) w.write_tagged_fields({});
  if (auto ok = encode(key, message_kind::response, api_version, body, w); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  return finish_frame(w);
}

}  // namespace substrate::kafka
