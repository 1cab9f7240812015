#include "gateway/token_verifier.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "auth/jwt.h"
#include "gateway/errc.h"

namespace substrate::gateway {
namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-gateway-test";
constexpr std::int64_t now_s = 1'800'000'000;

std::string b64(std::string_view bytes) {
  return auth::base64url_encode(bytes);
}

// A real key pair, made by OpenSSL, and its public half as a JWK.
struct key_pair {
  std::shared_ptr<EVP_PKEY> key;
  nlohmann::json jwk;
  std::string alg;

  static key_pair ec(std::string kid) {
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    key_pair out{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free), {}, "ES256"};
    std::string point(65, '\0');
    std::size_t length = 0;
    EVP_PKEY_get_octet_string_param(raw, OSSL_PKEY_PARAM_PUB_KEY, reinterpret_cast<unsigned char*>(point.data()),
                                    point.size(), &length);
    out.jwk = {{"kty", "EC"},
               {"crv", "P-256"},
               {"kid", kid},
               {"use", "sig"},
               {"x", b64(point.substr(1, 32))},
               {"y", b64(point.substr(33, 32))}};
    return out;
  }

  static key_pair rsa(std::string kid) {
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
    key_pair out{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free), {}, "RS256"};
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_RSA_E, &e);
    std::string nb(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
    std::string eb(static_cast<std::size_t>(BN_num_bytes(e)), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(nb.data()));
    BN_bn2bin(e, reinterpret_cast<unsigned char*>(eb.data()));
    BN_free(n);
    BN_free(e);
    out.jwk = {{"kty", "RSA"}, {"kid", kid}, {"alg", "RS256"}, {"n", b64(nb)}, {"e", b64(eb)}};
    return out;
  }

  [[nodiscard]] std::string sign(const nlohmann::json& claims, std::string kid) const {
    nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}};
    if (!kid.empty()) header["kid"] = kid;
    const std::string input = b64(header.dump()) + "." + b64(claims.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
    std::size_t length = 0;
    EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string signature(length, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    signature.resize(length);
    EVP_MD_CTX_free(ctx);
    if (alg == "ES256") {  // DER -> r || s
      const unsigned char* p = reinterpret_cast<const unsigned char*>(signature.data());
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(sig);
      signature = raw;
    }
    return input + "." + b64(signature);
  }
};

nlohmann::json user_claims(std::int64_t exp = now_s + 3600) {
  return {{"sub", "2b7c1a9e-0000-4000-8000-000000000001"},
          {"email", "ada@example.com"},
          {"role", "authenticated"},
          {"exp", exp}};
}

TEST(token_verifier, accepts_hs256_tokens_of_the_project_secret) {
  const token_verifier verifier(secret, {});
  auto who = verifier.verify(auth::sign_hs256(user_claims(), secret), now_s);
  ASSERT_TRUE(who) << who.error().message();
  EXPECT_EQ((*who)->subject, "2b7c1a9e-0000-4000-8000-000000000001");
  EXPECT_EQ((*who)->email, "ada@example.com");
  EXPECT_EQ((*who)->role, "authenticated");
  EXPECT_EQ((*who)->algorithm, "HS256");
}

TEST(token_verifier, refuses_expired_forged_and_other_secret_tokens) {
  const token_verifier verifier(secret, {});
  EXPECT_FALSE(verifier.verify(auth::sign_hs256(user_claims(now_s - 3600), secret), now_s));
  EXPECT_FALSE(verifier.verify(auth::sign_hs256(user_claims(), secret + "x"), now_s));
  // A payload swapped under a valid signature.
  const auto token = auth::sign_hs256(user_claims(), secret);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  auto forged_claims = user_claims();
  forged_claims["sub"] = "someone-else";
  const std::string forged = token.substr(0, first) + "." + b64(forged_claims.dump()) + token.substr(second);
  auto refused = verifier.verify(forged, now_s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::unauthorized);
  EXPECT_FALSE(verifier.verify("not-a-token", now_s));
  EXPECT_FALSE(verifier.verify("", now_s));
}

TEST(token_verifier, refuses_alg_none_and_algorithms_it_was_not_given) {
  const auto ec = key_pair::ec("ec1");
  auto keys = parse_jwks(nlohmann::json{{"keys", {ec.jwk}}}.dump());
  ASSERT_TRUE(keys) << keys.error().message();
  const token_verifier verifier(secret, *keys);
  const std::string payload = b64(user_claims().dump());
  // alg none, with and without a signature.
  EXPECT_FALSE(verifier.verify(b64(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".", now_s));
  EXPECT_FALSE(verifier.verify(b64(R"({"alg":"none"})") + "." + payload + "." + b64("x"), now_s));
  // HS384 and HS512 are not accepted even with the right secret.
  EXPECT_FALSE(
      verifier.verify(b64(R"({"alg":"HS384","typ":"JWT"})") + "." + payload + "." + b64(std::string(48, 'a')), now_s));
  // Key confusion: an HMAC over the token keyed with the public JWK text, labelled ES256.
  const std::string input = b64(R"({"alg":"ES256","typ":"JWT","kid":"ec1"})") + "." + payload;
  const auto hs = auth::sign_hs256(user_claims(), ec.jwk.dump());
  EXPECT_FALSE(verifier.verify(input + hs.substr(hs.rfind('.')), now_s));
  // An RS256 token when only an EC key is configured.
  const auto rsa = key_pair::rsa("r1");
  auto refused = verifier.verify(rsa.sign(user_claims(), "r1"), now_s);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().context.find("no RS256 key"), std::string::npos) << refused.error().context;
}

TEST(token_verifier, verifies_es256_and_rs256_tokens_with_jwks_keys) {
  const auto ec = key_pair::ec("ec1");
  const auto rsa = key_pair::rsa("rsa1");
  auto keys = parse_jwks(nlohmann::json{{"keys", {ec.jwk, rsa.jwk}}}.dump());
  ASSERT_TRUE(keys) << keys.error().message();
  ASSERT_EQ(keys->size(), 2u);
  const token_verifier verifier(secret, *keys);
  auto by_ec = verifier.verify(ec.sign(user_claims(), "ec1"), now_s);
  ASSERT_TRUE(by_ec) << by_ec.error().message();
  EXPECT_EQ((*by_ec)->algorithm, "ES256");
  auto by_ec_without_kid = verifier.verify(ec.sign(user_claims(), ""), now_s);
  ASSERT_TRUE(by_ec_without_kid) << by_ec_without_kid.error().message();
  auto by_rsa = verifier.verify(rsa.sign(user_claims(), "rsa1"), now_s);
  ASSERT_TRUE(by_rsa) << by_rsa.error().message();
  EXPECT_EQ((*by_rsa)->algorithm, "RS256");
  // Expired, unknown kid, another key pair of the same kind, a flipped signature bit.
  EXPECT_FALSE(verifier.verify(ec.sign(user_claims(now_s - 100), "ec1"), now_s));
  EXPECT_FALSE(verifier.verify(ec.sign(user_claims(), "other"), now_s));
  EXPECT_FALSE(verifier.verify(key_pair::ec("ec1").sign(user_claims(), "ec1"), now_s));
  auto token = rsa.sign(user_claims(), "rsa1");
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier.verify(token, now_s));
}

TEST(token_verifier, a_cached_token_still_expires_and_forgeries_still_fail) {
  const token_verifier verifier(secret, {});
  const auto token = auth::sign_hs256(user_claims(now_s + 60), secret);
  ASSERT_TRUE(verifier.verify(token, now_s));
  EXPECT_EQ(verifier.cached_tokens(), 1u);
  auto again = verifier.verify(token, now_s + 10);  // from the cache
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ((*again)->subject, "2b7c1a9e-0000-4000-8000-000000000001");
  EXPECT_EQ((*again)->email, "ada@example.com");
  EXPECT_EQ((*again)->role, "authenticated");
  EXPECT_EQ((*again)->algorithm, "HS256");
  // Past exp + the 30 s leeway, exactly as without the cache.
  EXPECT_TRUE(verifier.verify(token, now_s + 60 + 29));
  auto expired = verifier.verify(token, now_s + 60 + 30);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().context.find("expired"), std::string::npos) << expired.error().context;
  // A token that differs from the cached one in its signature only is verified, and refused.
  const auto fresh = auth::sign_hs256(user_claims(), secret);
  ASSERT_TRUE(verifier.verify(fresh, now_s));
  std::string tampered = fresh;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier.verify(tampered, now_s));
  // nbf in the future: refused, and a refusal is never cached.
  auto early_claims = user_claims();
  early_claims["nbf"] = now_s + 600;
  const auto early = auth::sign_hs256(early_claims, secret);
  EXPECT_FALSE(verifier.verify(early, now_s));
  EXPECT_FALSE(verifier.verify(early, now_s));
  EXPECT_TRUE(verifier.verify(early, now_s + 600));
}

TEST(token_verifier, the_cache_is_bounded) {
  const token_verifier verifier(secret, {}, 30, 4);
  for (int i = 0; i < 10; ++i) {
    auto claims = user_claims(i < 3 ? now_s + 1 : now_s + 3600);
    claims["sub"] = fmt::format("user-{}", i);
    ASSERT_TRUE(verifier.verify(auth::sign_hs256(claims, secret), now_s));
    EXPECT_LE(verifier.cached_tokens(), 4u);
  }
  // Later, the short-lived tokens are dropped first when the cache is full.
  auto claims = user_claims();
  claims["sub"] = "late";
  ASSERT_TRUE(verifier.verify(auth::sign_hs256(claims, secret), now_s + 100));
  EXPECT_GE(verifier.cached_tokens(), 1u);
  EXPECT_LE(verifier.cached_tokens(), 4u);
}

TEST(token_verifier, replaced_keys_empty_the_cache_and_unknown_kids_are_reported) {
  const auto old_key = key_pair::ec("k1");
  const auto new_key = key_pair::ec("k2");
  auto old_keys = parse_jwks(nlohmann::json{{"keys", {old_key.jwk}}}.dump());
  auto new_keys = parse_jwks(nlohmann::json{{"keys", {new_key.jwk}}}.dump());
  ASSERT_TRUE(old_keys && new_keys);
  token_verifier verifier(secret, *old_keys);
  std::vector<std::string> unknown;
  verifier.on_unknown_kid([&unknown](const std::string& kid) { unknown.push_back(kid); });
  const auto by_old = old_key.sign(user_claims(), "k1");
  const auto by_new = new_key.sign(user_claims(), "k2");
  ASSERT_TRUE(verifier.verify(by_old, now_s));
  EXPECT_FALSE(verifier.verify(by_new, now_s));
  EXPECT_EQ(unknown, std::vector<std::string>{"k2"});
  // The JWKS rotated: k1 is withdrawn, its cached token is refused from now on.
  verifier.set_keys(std::move(*new_keys));
  EXPECT_EQ(verifier.cached_tokens(), 0u);
  EXPECT_TRUE(verifier.verify(by_new, now_s));
  EXPECT_FALSE(verifier.verify(by_old, now_s));
  EXPECT_EQ(unknown, (std::vector<std::string>{"k2", "k1"}));
  // A bad signature under a known kid is not an unknown kid.
  EXPECT_FALSE(verifier.verify(key_pair::ec("k2").sign(user_claims(), "k2"), now_s));
  EXPECT_EQ(unknown.size(), 2u);
}

TEST(jwks, refuses_unusable_documents) {
  EXPECT_FALSE(parse_jwks("not json"));
  EXPECT_FALSE(parse_jwks("[]"));
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})"));
  EXPECT_FALSE(parse_jwks(R"({"keys":[]})"));
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})"));  // no public key at all
  auto ec = key_pair::ec("e").jwk;
  auto off_curve = ec;
  off_curve["y"] = b64(std::string(32, '\x01'));
  auto refused = parse_jwks(nlohmann::json{{"keys", {off_curve}}}.dump());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::invalid_jwks);
  auto short_x = ec;
  short_x["x"] = b64("short");
  EXPECT_FALSE(parse_jwks(nlohmann::json{{"keys", {short_x}}}.dump()));
  nlohmann::json small_rsa = {{"kty", "RSA"}, {"n", b64(std::string(128, '\xC3'))}, {"e", "AQAB"}};
  EXPECT_FALSE(parse_jwks(nlohmann::json{{"keys", {small_rsa}}}.dump()));
  // Keys of other curves or uses are skipped, the usable one is kept.
  nlohmann::json p384 = {{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}};
  auto enc = ec;
  enc["use"] = "enc";
  auto kept = parse_jwks(nlohmann::json{{"keys", {p384, enc, ec}}}.dump());
  ASSERT_TRUE(kept) << kept.error().message();
  EXPECT_EQ(kept->size(), 1u);
}

TEST(token_verifier, cannot_be_built_without_any_key) {
  EXPECT_THROW(token_verifier("", {}), std::invalid_argument);
}

TEST(bearer_token, takes_the_token_after_the_scheme) {
  EXPECT_EQ(bearer_token(std::string_view("Bearer abc.def.ghi")), "abc.def.ghi");
  EXPECT_EQ(bearer_token(std::string_view("bearer  abc ")), "abc");
  EXPECT_FALSE(bearer_token(std::nullopt));
  EXPECT_FALSE(bearer_token(std::string_view("Basic dXNlcjpwdw==")));
  EXPECT_FALSE(bearer_token(std::string_view("Bearer ")));
  EXPECT_FALSE(bearer_token(std::string_view("abc.def.ghi")));
}

}  // namespace
}  // namespace substrate::gateway
