#include "log/errc.h"

#include <string>

namespace substrate::log {

const std::error_category& log_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "log"; }
    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::batch_too_short:
          return "record batch too short";
        case errc::invalid_batch_length:
          return "invalid record batch length";
        case errc::unsupported_magic:
          return "unsupported record batch magic";
        case errc::crc_mismatch:
          return "record batch CRC mismatch";
        case errc::invalid_record_count:
          return "invalid record count";
        case errc::corrupt_batch:
          return "corrupt record batch";
        case errc::compressed_batch:
          return "compressed record batch";
        case errc::invalid_batch:
          return "invalid record batch";
        case errc::message_too_large:
          return "record batch too large";
        case errc::offset_out_of_range:
          return "offset out of range";
        case errc::io_error:
          return "I/O error";
        case errc::invalid_config:
          return "invalid log configuration";
      }
      return "log error";
    }
  };
  static const category instance;
  return instance;
}

}  // namespace substrate::log
