#include "kafka/security/sasl.h"

#include <fmt/format.h>

namespace substrate::kafka::security {
namespace {

// Kafka's message for every credential failure, so a client cannot tell a wrong password from an
// unknown user.
constexpr std::string_view bad_credentials = "Authentication failed: Invalid username or password";

sasl_step fail(std::string message) {
  sasl_step s;
  s.outcome = sasl_step::status::failure;
  s.error_message = std::move(message);
  return s;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(separator, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// RFC 5802 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed.
std::optional<std::string> unescape_saslname(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out.push_back(text[i]);
      continue;
    }
    const auto code = text.substr(i + 1, 2);
    if (code == "2C") {
      out.push_back(',');
    } else if (code == "3D") {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

bool printable_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (const char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

}  // namespace

std::string_view mechanism_name(sasl_mechanism mechanism) {
  return mechanism == sasl_mechanism::plain ? "PLAIN" : "SCRAM-SHA-256";
}

std::optional<sasl_mechanism> parse_mechanism(std::string_view name) {
  if (name == "PLAIN") return sasl_mechanism::plain;
  if (name == "SCRAM-SHA-256") return sasl_mechanism::scram_sha_256;
  return std::nullopt;
}

std::string user_principal(std::string_view user) {
  return fmt::format("User:{}", user);
}

sasl_session::sasl_session(sasl_mechanism mechanism, credential_lookup lookup, nonce_source nonce)
    : mechanism_(mechanism), lookup_(std::move(lookup)), nonce_(std::move(nonce)) {
  if (!nonce_) nonce_ = [] { return random_alphanumeric(32); };
}

sasl_session::~sasl_session() {
  if (credential_) {
    // Not secret enough to matter much (derived keys, not the password), but no reason to linger.
    std::fill(credential_->stored_key.begin(), credential_->stored_key.end(), 0);
    std::fill(credential_->server_key.begin(), credential_->server_key.end(), 0);
  }
}

sasl_step sasl_session::step(std::string_view client_message) {
  switch (stage_) {
    case stage::initial:
      if (mechanism_ == sasl_mechanism::plain) {
        stage_ = stage::finished;
        return plain(client_message);
      } else {
        auto s = scram_first(client_message);
        stage_ = s.outcome == sasl_step::status::challenge ? stage::scram_sent_first : stage::finished;
        return s;
      }
    case stage::scram_sent_first:
      stage_ = stage::finished;
      return scram_final(client_message);
    case stage::finished:
      break;
  }
  return fail("Authentication already finished");
}

sasl_step sasl_session::plain(std::string_view message) {
  // authzid NUL authcid NUL passwd (RFC 4616); librdkafka sends an empty authzid.
  const auto first = message.find('\0');
  const auto second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
    return fail("Invalid SASL/PLAIN message: expected authzid NUL authcid NUL password");
  }
  const auto authzid = message.substr(0, first);
  const std::string user(message.substr(first + 1, second - first - 1));
  const auto password = message.substr(second + 1);
  if (user.empty()) return fail("Invalid SASL/PLAIN message: empty user name");
  if (!authzid.empty() && authzid != user) {
    return fail("Authentication failed: the authorization id must equal the user name");
  }
  const auto credential = lookup_(user);
  if (!credential || !verify_password(*credential, password)) return fail(std::string(bad_credentials));
  sasl_step s;
  s.outcome = sasl_step::status::success;
  s.user = user;
  return s;
}

sasl_step sasl_session::scram_first(std::string_view message) {
  // gs2-header: "n,," | "y,," | "n,a=<authzid>," ; "p=..." asks for channel binding, unsupported.
  const auto comma1 = message.find(',');
  const auto comma2 = comma1 == std::string_view::npos ? comma1 : message.find(',', comma1 + 1);
  if (comma2 == std::string_view::npos) return fail("Invalid SCRAM client-first message");
  const auto flag = message.substr(0, comma1);
  const auto authzid_part = message.substr(comma1 + 1, comma2 - comma1 - 1);
  if (flag != "n" && flag != "y") return fail("Invalid SCRAM client-first message: channel binding is not supported");
  if (!authzid_part.empty() && !authzid_part.starts_with("a=")) return fail("Invalid SCRAM client-first message");
  gs2_header_ = std::string(message.substr(0, comma2 + 1));
  client_first_bare_ = std::string(message.substr(comma2 + 1));
  const auto attributes = split(client_first_bare_, ',');
  if (attributes.size() < 2 || !attributes[0].starts_with("n=") || !attributes[1].starts_with("r=")) {
    return fail("Invalid SCRAM client-first message: expected n=<user>,r=<nonce>");
  }
  auto user = unescape_saslname(attributes[0].substr(2));
  if (!user || user->empty()) return fail("Invalid SCRAM client-first message: bad user name");
  const auto client_nonce = attributes[1].substr(2);
  if (!printable_nonce(client_nonce)) return fail("Invalid SCRAM client-first message: bad nonce");
  for (std::size_t i = 2; i < attributes.size(); ++i) {
    // Kafka's SCRAM extensions (key=value). tokenauth asks for delegation tokens: unsupported.
    const auto& extension = attributes[i];
    if (extension.starts_with("m=")) return fail("Invalid SCRAM client-first message: unsupported mandatory extension");
    if (extension.starts_with("tokenauth=") && extension != "tokenauth=false") {
      return fail("Authentication failed: delegation tokens are not supported");
    }
  }
  if (!authzid_part.empty()) {
    auto authzid = unescape_saslname(authzid_part.substr(2));
    if (!authzid || *authzid != *user) {
      return fail("Authentication failed: the authorization id must equal the user name");
    }
  }
  credential_ = lookup_(*user);
  if (!credential_) return fail(std::string(bad_credentials));
  user_ = std::move(*user);
  nonce_full_ = std::string(client_nonce) + nonce_();
  server_first_ = fmt::format("r={},s={},i={}", nonce_full_, base64_encode(credential_->salt), credential_->iterations);
  sasl_step s;
  s.outcome = sasl_step::status::challenge;
  s.response = server_first_;
  return s;
}

sasl_step sasl_session::scram_final(std::string_view message) {
  // c=<base64 gs2 header>,r=<nonce>[,extensions],p=<base64 proof>; the proof is last.
  const auto proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return fail("Invalid SCRAM client-final message: no proof");
  const auto without_proof = message.substr(0, proof_at);
  const auto attributes = split(without_proof, ',');
  if (attributes.size() < 2 || !attributes[0].starts_with("c=") || !attributes[1].starts_with("r=")) {
    return fail("Invalid SCRAM client-final message: expected c=...,r=...");
  }
  const std::string expected_binding =
      base64_encode(std::span(reinterpret_cast<const std::uint8_t*>(gs2_header_.data()), gs2_header_.size()));
  if (attributes[0].substr(2) != expected_binding) {
    return fail("Invalid SCRAM client-final message: channel binding does not match the client-first header");
  }
  // librdkafka <= 2.6.0 sends client nonce + full nonce: accept any r= that ends with the full
  // nonce, as Kafka >= 3.8.1 does (spec 0.8).
  if (!attributes[1].substr(2).ends_with(nonce_full_)) return fail("Authentication failed: nonce mismatch");
  const auto proof = base64_decode(message.substr(proof_at + 3));
  if (!proof || proof->size() != sha256_bytes) return fail("Invalid SCRAM client-final message: bad proof");
  const std::string auth_message = fmt::format("{},{},{}", client_first_bare_, server_first_, without_proof);
  const auto client_signature = hmac_sha256(credential_->stored_key, auth_message);
  byte_string client_key(sha256_bytes);
  for (std::size_t i = 0; i < sha256_bytes; ++i) client_key[i] = (*proof)[i] ^ client_signature[i];
  if (!equal_constant_time(sha256(client_key), credential_->stored_key)) return fail(std::string(bad_credentials));
  sasl_step s;
  s.outcome = sasl_step::status::success;
  s.user = user_;
  s.response = "v=" + base64_encode(hmac_sha256(credential_->server_key, auth_message));
  return s;
}

}  // namespace substrate::kafka::security
