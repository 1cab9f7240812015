#include "auth/password.h"

#include <gtest/gtest.h>

namespace substrate::auth {
namespace {

// Cheap parameters for speed; the production defaults are checked by their own test.
constexpr argon2_parameters fast{.memory_kib = 8 * 1024, .iterations = 1, .parallelism = 1};

TEST(password, hash_is_argon2id_phc_with_the_parameters) {
  auto hash = hash_password("correct horse", fast);
  ASSERT_TRUE(hash) << hash.error().message();
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=8192,t=1,p=1$")) << *hash;
  EXPECT_TRUE(verify_password("correct horse", *hash));
  EXPECT_FALSE(verify_password("correct horsE", *hash));
  EXPECT_FALSE(verify_password("", *hash));
}

TEST(password, default_parameters_are_owasps) {
  const argon2_parameters defaults;
  EXPECT_EQ(defaults.memory_kib, 19u * 1024);
  EXPECT_EQ(defaults.iterations, 2u);
  EXPECT_EQ(defaults.parallelism, 1u);
  auto hash = hash_password("pw", defaults);
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
}

TEST(password, salts_differ) {
  auto a = hash_password("same", fast);
  auto b = hash_password("same", fast);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password("same", *a));
  EXPECT_TRUE(verify_password("same", *b));
}

TEST(password, verification_reads_the_stored_parameters) {
  auto stronger = hash_password("pw", {.memory_kib = 16 * 1024, .iterations = 3, .parallelism = 2});
  ASSERT_TRUE(stronger);
  EXPECT_TRUE(verify_password("pw", *stronger));
}

TEST(password, bcrypt_hashes_of_a_real_gotrue_verify) {
  // bcrypt("secret123", cost 4) from libxcrypt; GoTrue's Go bcrypt writes the same with $2a$.
  const std::string hash = "$2b$04$4n.2eQgF6phBqeB3qvI46OtiOzRCtyb7vb9g65F.MK.wv/KPjV7dK";
  EXPECT_TRUE(verify_password("secret123", hash));
  EXPECT_FALSE(verify_password("secret124", hash));
  EXPECT_TRUE(verify_password("secret123", "$2a$" + hash.substr(4)));
  EXPECT_FALSE(verify_password("secret123", "$2a$04$invalid"));
}

TEST(password, garbage_never_verifies) {
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password("x", "plain"));
  EXPECT_FALSE(verify_password("x", "$argon2id$v=19$m=8,t=1,p=1$broken"));
}

TEST(password, dummy_hash_is_stable_and_valid) {
  const auto& a = dummy_hash(fast);
  const auto& b = dummy_hash(fast);
  EXPECT_EQ(&a, &b);
  EXPECT_TRUE(a.starts_with("$argon2id$"));
  EXPECT_FALSE(verify_password("anything", a));
}

}  // namespace
}  // namespace substrate::auth
