// SCRAM-SHA-256 and PLAIN on the server side: RFC 7677's example exchange byte for byte,
// librdkafka's repeated-nonce client-final (spec kafka-compat.md 0.8), and the failures.
#include "kafka/security/scram.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "kafka/security/sasl.h"

namespace substrate::kafka::security {
namespace {

std::string text(const byte_string& b) {
  return {b.begin(), b.end()};
}
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 7677 section 3.
constexpr std::string_view rfc_salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

scram_credential rfc_credential() {
  return derive_scram_credential("pencil", *base64_decode(rfc_salt), 4096);
}

sasl_session rfc_session(std::optional<scram_credential> credential = rfc_credential()) {
  return sasl_session(
      sasl_mechanism::scram_sha_256,
      [credential](const std::string& user) { return user == "user" ? credential : std::nullopt; },
      [] { return std::string(rfc_server_nonce); });
}

// A client proof for `client_final_without_proof`, computed independently with OpenSSL.
std::string client_proof(std::string_view password, std::string_view client_first_bare, std::string_view server_first,
                         std::string_view client_final_without_proof) {
  const auto salt = *base64_decode(rfc_salt);
  byte_string salted(32);
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                    4096, EVP_sha256(), 32, salted.data());
  const auto client_key = hmac_sha256(salted, "Client Key");
  const std::string auth =
      std::string(client_first_bare) + "," + std::string(server_first) + "," + std::string(client_final_without_proof);
  const auto signature = hmac_sha256(sha256(client_key), auth);
  byte_string proof(32);
  for (int i = 0; i < 32; ++i) proof[i] = client_key[i] ^ signature[i];
  return base64_encode(proof);
}

TEST(scram, base64_round_trips_and_rejects_garbage) {
  EXPECT_EQ(base64_encode(bytes_of("")), "");
  EXPECT_EQ(base64_encode(bytes_of("n,,")), "biws");
  EXPECT_EQ(base64_encode(bytes_of("ab")), "YWI=");
  EXPECT_EQ(text(*base64_decode("YWI=")), "ab");
  EXPECT_EQ(text(*base64_decode("YQ==")), "a");
  EXPECT_EQ(text(*base64_decode("")), "");
  EXPECT_FALSE(base64_decode("YWI"));
  EXPECT_FALSE(base64_decode("Y=I="));
  EXPECT_FALSE(base64_decode("YW I"));
  EXPECT_FALSE(base64_decode("Y==="));
  const auto random = random_bytes(100);
  EXPECT_EQ(*base64_decode(base64_encode(random)), random);
}

TEST(scram, rfc7677_exchange) {
  auto session = rfc_session();
  const auto first = session.step(rfc_client_first);
  ASSERT_EQ(first.outcome, sasl_step::status::challenge) << first.error_message;
  EXPECT_EQ(first.response, rfc_server_first);
  const auto final = session.step(rfc_client_final);
  ASSERT_EQ(final.outcome, sasl_step::status::success) << final.error_message;
  EXPECT_EQ(final.response, rfc_server_final);
  EXPECT_EQ(final.user, "user");
  EXPECT_EQ(session.step("again").outcome, sasl_step::status::failure);
}

TEST(scram, accepts_librdkafka_repeated_client_nonce) {
  auto session = rfc_session();
  ASSERT_EQ(session.step(rfc_client_first).outcome, sasl_step::status::challenge);
  // librdkafka <= 2.6.0: r = client nonce + (client nonce + server nonce).
  const std::string without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqOrOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const auto proof = client_proof("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", rfc_server_first, without_proof);
  const auto final = session.step(without_proof + ",p=" + proof);
  EXPECT_EQ(final.outcome, sasl_step::status::success) << final.error_message;
}

TEST(scram, rejects_a_wrong_password) {
  auto session = rfc_session();
  ASSERT_EQ(session.step(rfc_client_first).outcome, sasl_step::status::challenge);
  const std::string without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const auto proof = client_proof("pencil2", "n=user,r=rOprNGfwEbeRWgbNEkqO", rfc_server_first, without_proof);
  const auto final = session.step(without_proof + ",p=" + proof);
  EXPECT_EQ(final.outcome, sasl_step::status::failure);
  EXPECT_NE(final.error_message.find("Authentication failed"), std::string::npos);
}

TEST(scram, rejects_a_nonce_without_the_server_part_and_bad_binding) {
  {
    auto session = rfc_session();
    ASSERT_EQ(session.step(rfc_client_first).outcome, sasl_step::status::challenge);
    const std::string without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO";
    const auto proof = client_proof("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", rfc_server_first, without_proof);
    EXPECT_EQ(session.step(without_proof + ",p=" + proof).outcome, sasl_step::status::failure);
  }
  {
    auto session = rfc_session();
    ASSERT_EQ(session.step(rfc_client_first).outcome, sasl_step::status::challenge);
    std::string final(rfc_client_final);
    final.replace(0, 6, "c=eSws");  // "y,," does not match the "n,," the client sent first
    EXPECT_EQ(session.step(final).outcome, sasl_step::status::failure);
  }
}

TEST(scram, rejects_unknown_users_and_malformed_messages) {
  EXPECT_EQ(rfc_session().step("n,,n=nobody,r=abc").outcome, sasl_step::status::failure);
  for (std::string_view bad :
       {"", "n,,", "p=tls-unique,,n=user,r=abc", "n,,r=abc,n=user", "n,,n=user,r=", "n,,n=us=41er,r=abc",
        "n,,n=user,r=abc,tokenauth=true", "x,,n=user,r=abc", "n,a=other,n=user,r=abc"}) {
    EXPECT_EQ(rfc_session().step(bad).outcome, sasl_step::status::failure) << bad;
  }
  auto session = rfc_session();
  ASSERT_EQ(session.step(rfc_client_first).outcome, sasl_step::status::challenge);
  EXPECT_EQ(session.step("c=biws,r=x").outcome, sasl_step::status::failure);
  // The authzid, when present, must name the user; escaped names are unescaped.
  EXPECT_EQ(rfc_session().step("n,a=user,n=user,r=abc").outcome, sasl_step::status::challenge);
}

TEST(plain, verifies_against_the_scram_credential) {
  const auto credential = new_scram_credential("s3cret", 4096);
  EXPECT_TRUE(verify_password(credential, "s3cret"));
  EXPECT_FALSE(verify_password(credential, "s3cre"));
  auto session = [&] {
    return sasl_session(sasl_mechanism::plain, [&](const std::string& user) {
      return user == "alice" ? std::optional(credential) : std::nullopt;
    });
  };
  using namespace std::string_literals;
  auto ok = session().step("\0alice\0s3cret"s);
  EXPECT_EQ(ok.outcome, sasl_step::status::success);
  EXPECT_EQ(ok.user, "alice");
  EXPECT_EQ(session().step("alice\0alice\0s3cret"s).outcome, sasl_step::status::success);
  EXPECT_EQ(session().step("bob\0alice\0s3cret"s).outcome, sasl_step::status::failure);
  EXPECT_EQ(session().step("\0alice\0wrong"s).outcome, sasl_step::status::failure);
  EXPECT_EQ(session().step("\0bob\0s3cret"s).outcome, sasl_step::status::failure);
  EXPECT_EQ(session().step("alice s3cret"s).outcome, sasl_step::status::failure);
  EXPECT_EQ(session().step("\0alice\0s3\0cret"s).outcome, sasl_step::status::failure);
}

TEST(scram, credentials_use_fresh_salts) {
  const auto a = new_scram_credential("same");
  const auto b = new_scram_credential("same");
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.stored_key, b.stored_key);
  EXPECT_EQ(a.iterations, scram_iterations_min);
  EXPECT_EQ(random_alphanumeric(40).size(), 40u);
}

}  // namespace
}  // namespace substrate::kafka::security
