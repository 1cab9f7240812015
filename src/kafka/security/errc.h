#pragma once
// Error codes of the Kafka security library: user and ACL files, names, SASL messages. Internal
// codes; the numbers a Kafka client sees (33, 34, 58, 29, 30, 31) are chosen by the listener and
// the broker.

#include <string>
#include <system_error>

namespace substrate::kafka::security {

enum class errc {
  io_error = 1,          // a file could not be read, written or locked
  invalid_file,          // a users or ACL file that does not parse or has bad values
  invalid_name,          // a user name, principal or resource name we do not accept
  invalid_argument,      // an ACL or credential field out of its domain
  user_exists,           // `user add` for a name that exists
  user_not_found,        // a lookup or delete of an unknown user
  malformed_message,     // a SASL message that does not follow its RFC
  authentication_failed  // wrong user or password, or a bad proof
};

const std::error_category& security_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), security_category()};
}

}  // namespace substrate::kafka::security

template <>
struct std::is_error_code_enum<substrate::kafka::security::errc> : std::true_type {};
