#include "kafka/protocol/errc.h"

namespace substrate::kafka {

const std::error_category& kafka_protocol_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "kafka.protocol"; }
    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::truncated:
          return "truncated kafka message";
        case errc::invalid_length:
          return "invalid length in kafka message";
        case errc::varint_too_long:
          return "varint too long or overflowing";
        case errc::unsupported_version:
          return "unsupported api version";
        case errc::unknown_api_key:
          return "unknown api key";
        case errc::frame_too_large:
          return "kafka frame too large";
        case errc::null_not_allowed:
          return "null value for a non-nullable field";
        case errc::invalid_tagged_fields:
          return "invalid tagged fields";
        case errc::trailing_bytes:
          return "trailing bytes after kafka message";
        case errc::schema_mismatch:
          return "message does not match its description";
        case errc::unknown_field:
          return "unknown field name";
      }
      return "kafka protocol error";
    }
  };
  static const category instance;
  return instance;
}

}  // namespace substrate::kafka
