#pragma once
// The one generic encoder and decoder. They walk an API's description (schema.h) for a given
// version and read or write the generic value tree (message.h); there is no per-API code.
//
// Versions at or above the API's flexible threshold use compact strings, bytes and arrays and
// end every struct with a tagged-field buffer; known tags are decoded into their fields, unknown
// ones are kept in message::unknown_tags() and written back. Tagged fields whose value equals
// the description's default are not written.
//
// Decoding is strict: a body must be consumed exactly (errc::trailing_bytes otherwise), null
// is accepted only where the field is nullable in that version, and tags must be strictly
// ascending. All reads are bounds-checked (primitives.h), so hostile input yields an error.

#include <cstdint>
#include <span>

#include "core/result.h"
#include "kafka/protocol/api_key.h"
#include "kafka/protocol/message.h"
#include "kafka/protocol/primitives.h"

namespace substrate::kafka {

// Decodes the body (the bytes after the header) of a request or response.
[[nodiscard]] result<message> decode(api_key key, message_kind kind, std::int16_t version,
                                     std::span<const std::uint8_t> body);

// Appends the body to `out`. Fails when the message does not belong to (key, kind), a value has
// the wrong type for its field, or a value cannot be expressed in this version (null in a
// non-nullable version, a string longer than 32767 bytes). Fields that do not exist in this
// version are ignored.
[[nodiscard]] result<void> encode(api_key key, message_kind kind, std::int16_t version, const message& body,
                                  writer& out);
[[nodiscard]] result<bytes> encode(api_key key, message_kind kind, std::int16_t version, const message& body);

}  // namespace substrate::kafka
