#include "auth/jwt.h"

#include <gtest/gtest.h>

namespace substrate::auth {
namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t now_s = 1'800'000'000;

std::string part(const nlohmann::json& j) {
  return base64url_encode(j.dump());
}

TEST(base64url, round_trips_every_length) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto decoded = base64url_decode(base64url_encode(bytes));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(base64url, refuses_foreign_characters_and_impossible_lengths) {
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_FALSE(base64url_decode("ab/c"));
  EXPECT_FALSE(base64url_decode("abcde"));  // 5 characters cannot encode whole bytes
  EXPECT_FALSE(base64url_decode("ab c"));
  EXPECT_FALSE(base64url_decode("AB"));  // non-zero unused bits: a second encoding of "\x00"
}

TEST(jwt, sign_then_verify_gives_back_the_claims) {
  const nlohmann::json claims = {{"sub", "u1"}, {"role", "authenticated"}, {"exp", now_s + 60}};
  const auto token = sign_hs256(claims, secret, "k1");
  auto verified = verify_hs256(token, secret, {.now_s = now_s});
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->claims, claims);
  EXPECT_EQ(verified->header["typ"], "JWT");
  EXPECT_EQ(verified->header["kid"], "k1");
}

TEST(jwt, matches_an_independently_computed_token) {
  // From jwt.io's HS256 example with secret "your-256-bit-secret".
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
      "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  auto verified = verify_hs256(token, "your-256-bit-secret", {.now_s = 1516239022});
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->claims["name"], "John Doe");
}

TEST(jwt, refuses_a_wrong_secret_or_tampered_payload) {
  const auto token = sign_hs256({{"role", "anon"}}, secret);
  EXPECT_EQ(verify_hs256(token, secret + "x", {.now_s = now_s}).error().code, errc::bad_signature);
  const auto dot = token.find('.');
  const auto tampered = token.substr(0, dot + 1) + part({{"role", "service_role"}}) + token.substr(token.rfind('.'));
  EXPECT_EQ(verify_hs256(tampered, secret, {.now_s = now_s}).error().code, errc::bad_signature);
}

TEST(jwt, refuses_alg_none_and_other_algorithms) {
  const std::string body = part({{"role", "service_role"}});
  EXPECT_EQ(
      verify_hs256(part({{"alg", "none"}, {"typ", "JWT"}}) + "." + body + ".", secret, {.now_s = now_s}).error().code,
      errc::unsupported_algorithm);
  EXPECT_EQ(verify_hs256(part({{"alg", "RS256"}}) + "." + body + ".AAAA", secret, {.now_s = now_s}).error().code,
            errc::unsupported_algorithm);
  EXPECT_EQ(verify_hs256(part({{"typ", "JWT"}}) + "." + body + ".AAAA", secret, {.now_s = now_s}).error().code,
            errc::malformed);
}

TEST(jwt, checks_expiry_with_leeway) {
  const auto token = sign_hs256({{"exp", now_s}}, secret);
  EXPECT_TRUE(verify_hs256(token, secret, {.now_s = now_s + 29, .leeway_s = 30}));
  EXPECT_EQ(verify_hs256(token, secret, {.now_s = now_s + 30, .leeway_s = 30}).error().code, errc::expired);
  const auto future = sign_hs256({{"nbf", now_s + 100}}, secret);
  EXPECT_EQ(verify_hs256(future, secret, {.now_s = now_s}).error().code, errc::not_yet_valid);
  const auto no_exp = sign_hs256({{"role", "anon"}}, secret);
  EXPECT_TRUE(verify_hs256(no_exp, secret, {.now_s = now_s}));
  EXPECT_EQ(verify_hs256(no_exp, secret, {.now_s = now_s, .require_exp = true}).error().code, errc::malformed);
  const auto text_exp = sign_hs256({{"exp", "tomorrow"}}, secret);
  EXPECT_EQ(verify_hs256(text_exp, secret, {.now_s = now_s}).error().code, errc::malformed);
}

TEST(jwt, refuses_malformed_tokens) {
  for (const std::string bad :
       {"", "a", "a.b", "a.b.c.d", "!!.e30.", "e30.e30", "W10.e30.", "e30.W10.", "eyJhbGciOjF9.e30."}) {
    EXPECT_EQ(verify_hs256(bad, secret, {.now_s = now_s}).error().code, errc::malformed) << bad;
  }
  EXPECT_EQ(decode(std::string(token_bytes_max + 1, 'a')).error().code, errc::malformed);
}

}  // namespace
}  // namespace substrate::auth
