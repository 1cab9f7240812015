#pragma once
// The one place where storage errors become Kafka wire error codes (STYLE.md section 3).

#include <system_error>

#include "kafka/protocol/error_codes.h"

namespace substrate::kafka {

// Maps a log::errc (or any other error) to the code a Produce/Fetch/ListOffsets partition gets:
// unparsable or CRC-failing batches are CORRUPT_MESSAGE, well-formed batches a producer must not
// send are INVALID_RECORD, oversize ones MESSAGE_TOO_LARGE, I/O failures KAFKA_STORAGE_ERROR.
[[nodiscard]] error_code to_kafka_error(const std::error_code& ec);

}  // namespace substrate::kafka
