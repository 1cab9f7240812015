// The server side of SASL PLAIN and SCRAM-SHA-256 (kafka/security/sasl.h) on arbitrary client
// messages: the first byte picks the mechanism, the rest is split at NUL bytes into the
// client's successive messages (for PLAIN the whole rest is the one message). Nothing may
// crash, read out of bounds or accept a login without the password.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kafka/security/sasl.h"

namespace {

using namespace substrate::kafka::security;

// One iteration keeps PLAIN's PBKDF2 cheap here; the parsing does not depend on the count.
const scram_credential& credential() {
  static const scram_credential c = [] {
    const std::string salt = "fuzz-salt";
    return derive_scram_credential("pencil", std::span(reinterpret_cast<const std::uint8_t*>(salt.data()), salt.size()),
                                   1);
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto mechanism = (data[0] & 1) ? sasl_mechanism::scram_sha_256 : sasl_mechanism::plain;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  sasl_session session(
      mechanism, [](const std::string& user) { return user == "user" ? std::optional(credential()) : std::nullopt; },
      [] { return std::string("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"); });
  if (mechanism == sasl_mechanism::plain) {
    const auto step = session.step(rest);
    if (step.outcome == sasl_step::status::success && rest.find("pencil") == std::string_view::npos) __builtin_trap();
    return 0;
  }
  std::size_t start = 0;
  for (int round = 0; round < 3 && start <= rest.size(); ++round) {
    const auto end = rest.find('\0', start);
    const auto message = rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const auto step = session.step(message);
    if (step.outcome != sasl_step::status::challenge) break;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return 0;
}
