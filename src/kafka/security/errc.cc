#include "kafka/security/errc.h"

namespace substrate::kafka::security {

const std::error_category& security_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "kafka.security"; }
    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::io_error:
          return "file error";
        case errc::invalid_file:
          return "invalid security file";
        case errc::invalid_name:
          return "invalid name";
        case errc::invalid_argument:
          return "invalid argument";
        case errc::user_exists:
          return "the user exists";
        case errc::user_not_found:
          return "no such user";
        case errc::malformed_message:
          return "malformed SASL message";
        case errc::authentication_failed:
          return "authentication failed";
      }
      return "kafka security error";
    }
  };
  static const category instance;
  return instance;
}

}  // namespace substrate::kafka::security
