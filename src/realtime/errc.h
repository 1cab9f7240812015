#pragma once
// Error codes of the realtime service (pgoutput decoding, replication).

#include <string>
#include <system_error>

namespace substrate::realtime {

enum class errc {
  malformed = 1,     // a replication message that does not follow the pgoutput / CopyBoth format
  unknown_relation,  // a change for a relation whose Relation message was never received
  replication,       // the replication connection failed (libpq's message in the context)
};

const std::error_category& realtime_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), realtime_category()};
}

}  // namespace substrate::realtime

template <>
struct std::is_error_code_enum<substrate::realtime::errc> : std::true_type {};
