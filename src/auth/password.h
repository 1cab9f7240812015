#pragma once
// Password hashing for auth.users.encrypted_password: Argon2id (libargon2) in the PHC string
// format `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>`, 16-byte random
// salt, 32-byte hash. Verification reads the parameters from the stored string, so raising
// the cost later keeps old hashes valid. bcrypt strings (`$2a$`/`$2b$`/`$2y$`, what a real
// GoTrue stores) are verified too, so users imported from Supabase can sign in.
//
// Both calls cost tens of milliseconds of CPU and ~m KiB of memory by design: run them on the
// blocking pool, never on a shard. Thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace substrate::auth {

struct argon2_parameters {
  std::uint32_t memory_kib = 19 * 1024;  // OWASP password storage cheat sheet, 2nd option
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

// GoTrue's limit (bcrypt's): longer passwords are refused at sign-up.
inline constexpr std::size_t password_bytes_max = 72;

// A fresh PHC string for `password`. Errors only on resource failure (out of memory).
[[nodiscard]] result<std::string> hash_password(std::string_view password, const argon2_parameters& parameters);

// True when `password` matches `encoded` (Argon2id PHC or bcrypt); false on a mismatch and on
// any string that is not a supported hash (an empty column, a corrupt value). The comparison of
// the computed and stored hash is constant-time.
[[nodiscard]] bool verify_password(std::string_view password, const std::string& encoded);

// A valid Argon2id hash of a random password, computed once per parameter set: sign-in with an
// unknown e-mail verifies against it so that it costs as much as a wrong password (no account
// enumeration by timing).
[[nodiscard]] const std::string& dummy_hash(const argon2_parameters& parameters);

}  // namespace substrate::auth
