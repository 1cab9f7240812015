#pragma once
// Expected failures travel as values: `result<T>` holds either a T or an `error` (an error code
// from a subsystem's category plus a human-readable context). See STYLE.md section 3.

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace substrate {

struct error {
  std::error_code code;
  std::string context;

  // "what went wrong: context", for logs and HTTP messages.
  [[nodiscard]] std::string message() const {
    return context.empty() ? code.message() : code.message() + ": " + context;
  }
};

template <class T>
using result = tl::expected<T, error>;

inline tl::unexpected<error> make_error(std::error_code code, std::string context = {}) {
  return tl::unexpected<error>(error{code, std::move(context)});
}

}  // namespace substrate
