// The gateway's untrusted-input paths (issue 6): byte 0 picks one, the rest is the input.
//   0: a JWKS document (gateway.jwks_url answers are untrusted bytes)
//   1: a bearer token, verified with a secret and an EC key
//   2: a client event body: identity appended from the token -> Avro (byte 1 picks one of the
//      platform's schemas) - the JSON -> Avro request path; an accepted record must carry the
//      token's identity
//   3: a webhook body: JSON object -> flat record (database-webhook shapes) -> Avro
//   4: a media intent body: validation -> intent record -> Avro
// Nothing may crash; every record the gateway builds from a valid body must be a JSON object.
#include <cstdio>
#include <cstdlib>

#include "avro/json_decoder.h"
#include "fuzz/avro_fuzz.h"
#include "gateway/requests.h"
#include "gateway/token_verifier.h"

namespace {

using namespace substrate;

std::vector<std::shared_ptr<const avro::schema>> schemas;
std::unique_ptr<gateway::token_verifier> verifier;

void encode(std::uint8_t pick, const nlohmann::json& record) {
  if (!record.is_object()) {
    std::fprintf(stderr, "gateway_request_fuzz: a built record is not an object\n");
    std::abort();
  }
  avro::json_encoder encoder;
  std::string out;
  (void)encoder.encode(*schemas[pick % schemas.size()], record.dump(), out);
}

// An accepted client event carries the token's identity, whatever the body said: decoded
// back, a top-level string user_id / email is the token's.
void expect_identity(const avro::schema& s, const std::string& bytes, const gateway::identity& who) {
  std::string json;
  const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (!avro::decode_json(s, std::span(first, bytes.size()), json)) {
    std::fprintf(stderr, "gateway_request_fuzz: an encoded event does not decode\n");
    std::abort();
  }
  const auto record = nlohmann::json::parse(json, nullptr, false);
  if (!record.is_object()) return;
  const auto user_id = record.find("user_id");
  const auto email = record.find("email");
  if ((user_id != record.end() && user_id->is_string() && *user_id != who.subject) ||
      (email != record.end() && email->is_string() && *email != who.email.value_or(""))) {
    std::fprintf(stderr, "gateway_request_fuzz: the body's identity reached the record: %s\n", json.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  schemas = avro::fuzz::load_schema_set(SUBSTRATE_SOURCE_DIR);
  if (schemas.empty()) std::abort();
  // The P-256 public key of RFC 7515 appendix A.3.
  auto keys = gateway::parse_jwks(
      R"({"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})");
  verifier = std::make_unique<gateway::token_verifier>("fuzz-secret-fuzz-secret-fuzz-secret",
                                                       keys ? std::move(*keys) : std::vector<gateway::jwk>{});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t path = data[0] % 5;
  const std::uint8_t pick = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  const gateway::identity who{"2b7c1a9e-0000-4000-8000-000000000001", "fuzz@example.com", "authenticated", "HS256"};
  switch (path) {
    case 0:
      (void)gateway::parse_jwks(input);
      break;
    case 1:
      (void)verifier->verify(input, 1'800'000'000);
      break;
    case 2: {
      // As the gateway does it: the identity appended to the text, one parse by the encoder.
      auto text = gateway::bind_identity_text(input, who);
      if (!text) break;
      const auto& s = *schemas[pick % schemas.size()];
      avro::json_encoder encoder;
      std::string out;
      if (encoder.encode(s, *text, out)) expect_identity(s, out, who);
      break;
    }
    case 3: {
      auto body = gateway::parse_body_object(input);
      if (!body) break;
      auto shaped = gateway::shape_webhook(std::move(*body), "2026-01-01T00:00:00Z");
      if (shaped && !shaped->ignored) encode(pick, shaped->record);
      break;
    }
    case 4: {
      auto body = gateway::parse_body_object(input);
      if (!body) break;
      const gateway::media_policy policy{{"image/png"}, 1000};
      auto intent = (pick & 1) ? gateway::upload_intent(*body, who, policy, "r", "t")
                               : gateway::path_intent(*body, who, "r", "t");
      if (intent) encode(pick, *intent);
      break;
    }
  }
  return 0;
}
