#pragma once
// The server side of the SASL mechanisms the broker offers: PLAIN (RFC 4616) and SCRAM-SHA-256
// (RFC 5802 / RFC 7677), exactly as spec kafka-compat.md 5.6 describes, including librdkafka's
// SCRAM nonce quirk (the client-final `r=` only has to END with the server-first nonce).
//
// A `sasl_session` is one authentication exchange on one connection: created after a
// successful SaslHandshake, fed each SaslAuthenticate's auth bytes with step(), done when a
// step returns `success` (the principal is then known) or `failure` (the connection closes).
// No networking here: the listener (kafka/server) owns the framing and the error codes.
//
// Owner: the connection that created it; one thread at a time (the listener runs steps on the
// blocking pool, since PLAIN derives a PBKDF2 key and lookups read the users file).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/security/scram.h"

namespace substrate::kafka::security {

enum class sasl_mechanism { plain, scram_sha_256 };

[[nodiscard]] std::string_view mechanism_name(sasl_mechanism mechanism);
// "PLAIN" or "SCRAM-SHA-256" (exact, as clients send them); std::nullopt otherwise.
[[nodiscard]] std::optional<sasl_mechanism> parse_mechanism(std::string_view name);

// Finds a user's stored credential; std::nullopt for an unknown user.
using credential_lookup = std::function<std::optional<scram_credential>(const std::string& user)>;
// The server nonce of a SCRAM exchange; injected so tests can replay RFC 7677's exchange.
using nonce_source = std::function<std::string()>;

struct sasl_step {
  enum class status { challenge, success, failure };
  status outcome = status::failure;
  std::string response;       // auth bytes to send back (challenge, or the final message)
  std::string error_message;  // for failure: what the client is told (never which part was wrong)
  std::string user;           // for success: the authenticated user name
};

class sasl_session {
public:
  sasl_session(sasl_mechanism mechanism, credential_lookup lookup, nonce_source nonce = {});
  ~sasl_session();
  sasl_session(const sasl_session&) = delete;
  sasl_session& operator=(const sasl_session&) = delete;

  [[nodiscard]] sasl_mechanism mechanism() const { return mechanism_; }
  // Processes the client's next message. After success or failure the session is finished and
  // further steps fail.
  [[nodiscard]] sasl_step step(std::string_view client_message);

private:
  sasl_step plain(std::string_view message);
  sasl_step scram_first(std::string_view message);
  sasl_step scram_final(std::string_view message);

  enum class stage { initial, scram_sent_first, finished };
  sasl_mechanism mechanism_;
  credential_lookup lookup_;
  nonce_source nonce_;
  stage stage_ = stage::initial;
  // SCRAM state between the two round trips.
  std::string user_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_full_;  // client nonce + server nonce
  std::optional<scram_credential> credential_;
};

// The principal of an authenticated user, as Kafka names it: "User:<name>".
[[nodiscard]] std::string user_principal(std::string_view user);

}  // namespace substrate::kafka::security
