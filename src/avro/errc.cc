#include "avro/errc.h"

#include <string>

namespace substrate::avro {

const std::error_category& avro_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "avro"; }
    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::invalid_schema:
          return "invalid Avro schema";
        case errc::invalid_json:
          return "invalid JSON";
        case errc::type_mismatch:
          return "type mismatch";
        case errc::missing_field:
          return "missing field";
        case errc::out_of_range:
          return "number out of range";
        case errc::invalid_value:
          return "invalid value";
        case errc::truncated:
          return "truncated Avro data";
        case errc::invalid_binary:
          return "malformed Avro data";
        case errc::trailing_bytes:
          return "trailing bytes after Avro datum";
        case errc::too_deep:
          return "nesting too deep";
        case errc::incompatible:
          return "incompatible schemas";
        case errc::invalid_framing:
          return "invalid Confluent framing";
      }
      return "avro error";
    }
  };
  static const category instance;
  return instance;
}

}  // namespace substrate::avro
