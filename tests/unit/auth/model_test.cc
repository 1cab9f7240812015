#include "auth/model.h"

#include <gtest/gtest.h>

#include "auth/jwt.h"

namespace substrate::auth {
namespace {

user_record sample_user() {
  user_record u;
  u.id = "0b6a3f1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b";
  u.email = "a@example.com";
  u.email_confirmed_at = "2026-01-01T00:00:00.000000Z";
  u.confirmed_at = u.email_confirmed_at;
  u.created_at = "2026-01-01T00:00:00.000000Z";
  u.updated_at = u.created_at;
  u.app_metadata = {{"provider", "email"}, {"providers", {"email"}}};
  u.user_metadata = {{"name", "A"}};
  return u;
}

TEST(claims, every_claim_of_supabase_compat_1_4) {
  const token_settings settings{"http://127.0.0.1:54321/auth/v1", 3600};
  const auto claims = access_claims(sample_user(), "11111111-2222-4333-8444-555555555555", 1000, 900, settings);
  EXPECT_EQ(claims["iss"], "http://127.0.0.1:54321/auth/v1");
  EXPECT_EQ(claims["sub"], "0b6a3f1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(claims["aud"], "authenticated");
  EXPECT_EQ(claims["iat"], 1000);
  EXPECT_EQ(claims["exp"], 4600);
  EXPECT_EQ(claims["email"], "a@example.com");
  EXPECT_EQ(claims["phone"], "");
  EXPECT_EQ(claims["app_metadata"]["provider"], "email");
  EXPECT_EQ(claims["user_metadata"]["name"], "A");
  EXPECT_EQ(claims["role"], "authenticated");
  EXPECT_EQ(claims["aal"], "aal1");
  EXPECT_EQ(claims["amr"], nlohmann::json::parse(R"([{"method":"password","timestamp":900}])"));
  EXPECT_EQ(claims["session_id"], "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(claims["is_anonymous"], false);
  // Signed, the header has typ JWT (Realtime requires it) and the token verifies.
  const std::string secret(40, 's');
  const auto token = sign_hs256(claims, secret);
  auto verified = verify_hs256(token, secret, {.now_s = 1000});
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->header["typ"], "JWT");
}

TEST(claims, session_json_has_what_the_client_requires) {
  const token_settings settings{"iss", 3600};
  const auto session = session_json("at", "rt", 1000, settings, sample_user());
  EXPECT_EQ(session["access_token"], "at");
  EXPECT_EQ(session["refresh_token"], "rt");
  EXPECT_EQ(session["token_type"], "bearer");
  EXPECT_EQ(session["expires_in"], 3600);
  EXPECT_EQ(session["expires_at"], 4600);
  EXPECT_EQ(session["user"]["id"], sample_user().id);
}

TEST(user_json, fields_of_supabase_compat_2_2_and_omitted_timestamps) {
  auto u = sample_user();
  const auto json = user_json(u);
  for (const char* field : {"id", "aud", "role", "email", "email_confirmed_at", "phone", "confirmed_at", "app_metadata",
                            "user_metadata", "identities", "created_at", "updated_at", "is_anonymous"}) {
    EXPECT_TRUE(json.contains(field)) << field;
  }
  EXPECT_FALSE(json.contains("last_sign_in_at"));
  EXPECT_FALSE(json.contains("encrypted_password"));
  ASSERT_EQ(json["identities"].size(), 1u);
  EXPECT_EQ(json["identities"][0]["provider"], "email");
  EXPECT_EQ(json["identities"][0]["identity_data"]["email_verified"], true);
}

TEST(validation, emails) {
  EXPECT_EQ(normalize_email("A.B+c@Example.COM"), "a.b+c@example.com");
  for (const char* bad : {"", "a", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@b..com",
                          "a@b.com.", "<a>@b.com", "a@b.com\n"}) {
    EXPECT_FALSE(normalize_email(bad)) << bad;
  }
  EXPECT_FALSE(normalize_email(std::string(250, 'a') + "@b.com"));
}

TEST(validation, uuids) {
  EXPECT_TRUE(is_uuid("0b6a3f1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(is_uuid("0B6A3F1E-2C4D-4E5F-8A9B-0C1D2E3F4A5B"));
  EXPECT_FALSE(is_uuid("0b6a3f1e2c4d4e5f8a9b0c1d2e3f4a5b"));
  EXPECT_FALSE(is_uuid("0b6a3f1e-2c4d-4e5f-8a9b-0c1d2e3f4a5g"));
  EXPECT_FALSE(is_uuid("'; drop table auth.users; --"));
  EXPECT_TRUE(is_uuid(new_uuid()));
  EXPECT_EQ(new_uuid()[14], '4');
}

TEST(validation, new_passwords) {
  EXPECT_FALSE(check_new_password("secret", 6));
  auto empty = check_new_password("", 6);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  EXPECT_EQ(empty->code, "validation_failed");
  auto weak = check_new_password("123", 6);
  ASSERT_TRUE(weak);
  EXPECT_EQ(weak->status, 422);
  EXPECT_EQ(weak->code, "weak_password");
  EXPECT_EQ(weak->message, "Password should be at least 6 characters.");
  EXPECT_EQ(weak->extra["weak_password"]["reasons"], nlohmann::json::array({"length"}));
  // Characters, not bytes: five two-byte characters are still too short.
  EXPECT_TRUE(check_new_password("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 6));
  auto long_one = check_new_password(std::string(73, 'x'), 6);
  ASSERT_TRUE(long_one);
  EXPECT_EQ(long_one->status, 400);
}

TEST(refresh, rotation_and_reuse_rule) {
  constexpr std::int64_t interval = 10'000;
  EXPECT_EQ(decide_refresh({.revoked = false}, 0, interval), refresh_decision::rotate);
  EXPECT_EQ(decide_refresh({.revoked = true, .parent_of_active = true, .revoked_at_ms = 1000}, 5000, interval),
            refresh_decision::reuse_active);
  EXPECT_EQ(decide_refresh({.revoked = true, .parent_of_active = true, .revoked_at_ms = 1000}, 11'000, interval),
            refresh_decision::already_used);
  // An older ancestor, even within the interval, is a reuse: the family is revoked.
  EXPECT_EQ(decide_refresh({.revoked = true, .parent_of_active = false, .revoked_at_ms = 1000}, 1500, interval),
            refresh_decision::already_used);
}

TEST(refresh, tokens_are_opaque_and_unique) {
  const auto a = new_refresh_token();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, new_refresh_token());
}

TEST(time, rfc3339_microseconds) {
  EXPECT_EQ(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(rfc3339_us(1'772'100'000'123'456), "2026-02-26T10:00:00.123456Z");
}

}  // namespace
}  // namespace substrate::auth
