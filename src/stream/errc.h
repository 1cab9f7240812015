#pragma once
// Error codes of the stream-processing runtime. What matters to the runtime is whether a failure
// is permanent for the record (dead-letter it, move on) or transient (retry with backoff):
// see failure_kind in processor.h.

#include <string>
#include <system_error>

namespace substrate::stream {

enum class errc {
  invalid_record = 1,  // permanent: the record can never be processed (validation, bad data)
  decode_failed,       // permanent: framing or Avro decoding failed, or the writer schema is unknown
  unavailable,         // transient: a dependency (registry, database, broker) cannot be reached now
  // Internal: a handler run ahead of its transaction asked for the database (effects::exec ...);
  // the runtime runs it again inside the transaction.
  needs_transaction,
};

const std::error_category& stream_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), stream_category()};
}

}  // namespace substrate::stream

template <>
struct std::is_error_code_enum<substrate::stream::errc> : std::true_type {};
