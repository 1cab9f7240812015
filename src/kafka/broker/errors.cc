#include "kafka/broker/errors.h"

#include "log/errc.h"

namespace substrate::kafka {

error_code to_kafka_error(const std::error_code& ec) {
  if (!ec) return error_code::none;
  if (ec.category() != log::log_category()) return error_code::unknown_server_error;
  switch (static_cast<log::errc>(ec.value())) {
    case log::errc::batch_too_short:
    case log::errc::invalid_batch_length:
    case log::errc::crc_mismatch:
    case log::errc::corrupt_batch:
      return error_code::corrupt_message;
    case log::errc::unsupported_magic:
    case log::errc::invalid_record_count:
    case log::errc::invalid_batch:
    case log::errc::compressed_batch:
      return error_code::invalid_record;
    case log::errc::message_too_large:
      return error_code::message_too_large;
    case log::errc::offset_out_of_range:
      return error_code::offset_out_of_range;
    case log::errc::io_error:
      return error_code::kafka_storage_error;
    case log::errc::invalid_config:
      return error_code::invalid_config;
  }
  return error_code::unknown_server_error;
}

}  // namespace substrate::kafka
