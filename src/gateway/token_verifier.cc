#include "gateway/token_verifier.h"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "auth/jwt.h"
#include "core/assert.h"
#include "gateway/errc.h"

namespace substrate::gateway {
namespace {

constexpr std::size_t jwks_bytes_max = 1 << 20;
constexpr std::size_t jwks_keys_max = 100;

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct ctx_deleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct bld_deleter {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct params_deleter {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct bn_deleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct sig_deleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

result<std::string> b64_member(const nlohmann::json& key, const char* name) {
  const auto it = key.find(name);
  if (it == key.end() || !it->is_string()) {
    return make_error(errc::invalid_jwks, fmt::format("member {} missing or not a string", name));
  }
  auto bytes = auth::base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) return make_error(errc::invalid_jwks, fmt::format("member {} is not base64url", name));
  return *bytes;
}

result<std::shared_ptr<EVP_PKEY>> from_params(const char* type, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, ctx_deleter> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0 || key == nullptr) {
    return make_error(errc::invalid_jwks, fmt::format("OpenSSL refuses the {} key parameters", type));
  }
  return std::shared_ptr<EVP_PKEY>(key, pkey_deleter{});
}

result<std::shared_ptr<EVP_PKEY>> ec_key(const nlohmann::json& key) {
  const auto crv = key.find("crv");
  if (crv == key.end() || *crv != "P-256") return make_error(errc::invalid_jwks, "only EC keys on P-256 are supported");
  auto x = b64_member(key, "x");
  if (!x) return tl::unexpected(x.error());
  auto y = b64_member(key, "y");
  if (!y) return tl::unexpected(y.error());
  if (x->size() != 32 || y->size() != 32) return make_error(errc::invalid_jwks, "P-256 x and y are 32 bytes each");
  const std::string point = std::string(1, '\x04') + *x + *y;
  std::unique_ptr<OSSL_PARAM_BLD, bld_deleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    return make_error(errc::invalid_jwks, "cannot build EC key parameters");
  }
  std::unique_ptr<OSSL_PARAM, params_deleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto made = from_params("EC", params.get());
  if (!made) return made;
  // fromdata does not prove the point is on the curve; the public-key check does.
  std::unique_ptr<EVP_PKEY_CTX, ctx_deleter> check(EVP_PKEY_CTX_new_from_pkey(nullptr, made->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return make_error(errc::invalid_jwks, "the EC point is not on P-256");
  }
  return made;
}

result<std::shared_ptr<EVP_PKEY>> rsa_key(const nlohmann::json& key) {
  auto n = b64_member(key, "n");
  if (!n) return tl::unexpected(n.error());
  auto e = b64_member(key, "e");
  if (!e) return tl::unexpected(e.error());
  if (n->size() < 256 || n->size() > 1024) return make_error(errc::invalid_jwks, "RSA modulus must be 2048..8192 bits");
  if (e->size() > 8) return make_error(errc::invalid_jwks, "RSA exponent too large");
  std::unique_ptr<BIGNUM, bn_deleter> bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, bn_deleter> bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e || BN_num_bits(bn_n.get()) < 2048) {
    return make_error(errc::invalid_jwks, "RSA modulus must be at least 2048 bits");
  }
  std::unique_ptr<OSSL_PARAM_BLD, bld_deleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return make_error(errc::invalid_jwks, "cannot build RSA key parameters");
  }
  std::unique_ptr<OSSL_PARAM, params_deleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  return from_params("RSA", params.get());
}

bool verify_signature(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

// JWS ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
std::optional<std::string> es256_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, sig_deleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

tl::unexpected<error> unauthorized(std::string why) {
  return make_error(errc::unauthorized, std::move(why));
}

}  // namespace

result<std::vector<jwk>> parse_jwks(std::string_view json_text) {
  if (json_text.size() > jwks_bytes_max) return make_error(errc::invalid_jwks, "the JWKS document exceeds 1 MiB");
  const auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return make_error(errc::invalid_jwks, "a JWKS document is a JSON object");
  const auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return make_error(errc::invalid_jwks, "the document has no keys array");
  if (keys->size() > jwks_keys_max) return make_error(errc::invalid_jwks, "more than 100 keys");
  std::vector<jwk> out;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const auto& key = (*keys)[i];
    if (!key.is_object()) return make_error(errc::invalid_jwks, fmt::format("keys[{}] is not an object", i));
    const auto kty = key.find("kty");
    if (kty == key.end() || !kty->is_string()) {
      return make_error(errc::invalid_jwks, fmt::format("keys[{}] has no kty", i));
    }
    if (const auto use = key.find("use"); use != key.end() && *use != "sig") continue;
    jwk entry;
    if (const auto kid = key.find("kid"); kid != key.end() && kid->is_string()) entry.kid = kid->get<std::string>();
    std::string expected_alg;
    result<std::shared_ptr<EVP_PKEY>> made = make_error(errc::invalid_jwks, "unsupported");
    if (*kty == "EC") {
      if (key.value("crv", std::string()) != "P-256") continue;  // other curves: not ours to use
      expected_alg = "ES256";
      made = ec_key(key);
    } else if (*kty == "RSA") {
      expected_alg = "RS256";
      made = rsa_key(key);
    } else {
      continue;  // oct (shared secrets are configured, not published), OKP ...
    }
    if (const auto alg = key.find("alg"); alg != key.end()) {
      if (!alg->is_string()) return make_error(errc::invalid_jwks, fmt::format("keys[{}].alg is not a string", i));
      if (*alg != expected_alg) continue;  // e.g. an RSA key for PS256: not accepted here
    }
    if (!made) {
      return make_error(errc::invalid_jwks, fmt::format("keys[{}] ({}): {}", i, entry.kid, made.error().context));
    }
    entry.alg = expected_alg;
    entry.key = std::move(*made);
    out.push_back(std::move(entry));
  }
  if (out.empty()) return make_error(errc::invalid_jwks, "no ES256 (EC P-256) or RS256 (RSA) signing key");
  return out;
}

token_verifier::token_verifier(std::string hs256_secret, std::vector<jwk> keys, std::int64_t leeway_s,
                               std::size_t cache_max)
    : secret_(std::move(hs256_secret)),
      leeway_s_(leeway_s),
      keys_(std::make_shared<const std::vector<jwk>>(std::move(keys))),
      cache_(cache_max, leeway_s) {
  if (secret_.empty() && keys_->empty()) {
    throw std::invalid_argument("the gateway needs a JWT secret or a JWKS key: verification cannot be skipped");
  }
}

void token_verifier::set_keys(std::vector<jwk> keys) {
  auto fresh = std::make_shared<const std::vector<jwk>>(std::move(keys));
  {
    std::lock_guard lock(keys_mutex_);
    keys_ = std::move(fresh);
  }
  cache_.clear();
}

std::size_t token_verifier::key_count() const {
  std::lock_guard lock(keys_mutex_);
  return keys_->size();
}

std::size_t token_verifier::cached_tokens() const {
  return cache_.size();
}

result<shared_identity> token_verifier::verify(std::string_view token, std::int64_t now_s) const {
  if (auto hit = cache_.find(token, now_s)) return std::move(*hit);
  const auto generation = cache_.generation();
  auth::time_claims times;
  auto who = verify_uncached(token, now_s, times);
  if (!who) return tl::unexpected(std::move(who.error()));
  auto shared = std::make_shared<const identity>(std::move(*who));
  cache_.insert(token, times, shared, now_s, generation);
  return shared;
}

result<identity> token_verifier::verify_uncached(std::string_view token, std::int64_t now_s,
                                                 auth::time_claims& times) const {
  auto decoded = auth::decode(token);
  if (!decoded) return unauthorized(decoded.error().message());
  // A copy: `decoded` is replaced by the HS256 verification below.
  const std::string alg = decoded->header["alg"].get<std::string>();
  const auth::verify_options options{.now_s = now_s, .leeway_s = leeway_s_};
  if (alg == "HS256") {
    if (secret_.empty()) return unauthorized("HS256 tokens are not accepted (no secret configured)");
    auto verified = auth::verify_hs256(token, secret_, options);
    if (!verified) return unauthorized(verified.error().message());
    decoded = std::move(verified);
  } else if (alg == "ES256" || alg == "RS256") {
    std::string kid;
    if (const auto k = decoded->header.find("kid"); k != decoded->header.end()) {
      if (!k->is_string()) return unauthorized("the header's kid is not a string");
      kid = k->get<std::string>();
    }
    std::shared_ptr<const std::vector<jwk>> keys;
    {
      std::lock_guard lock(keys_mutex_);
      keys = keys_;
    }
    const jwk* chosen = nullptr;
    for (const auto& key : *keys) {
      if (key.alg != alg) continue;
      if (!kid.empty() && key.kid != kid) continue;
      chosen = &key;
      break;
    }
    if (!chosen) {
      if (unknown_kid_) unknown_kid_(kid);
      return unauthorized(fmt::format("no {} key{} is configured", alg, kid.empty() ? "" : " with this kid"));
    }
    std::string signature = decoded->signature;
    if (alg == "ES256") {
      auto der = es256_der(signature);
      if (!der) return unauthorized("an ES256 signature is 64 bytes");
      signature = std::move(*der);
    }
    if (!verify_signature(chosen->key.get(), decoded->signing_input, signature)) {
      return unauthorized("the signature does not match");
    }
    if (auto times = auth::check_time_claims(decoded->claims, options); !times) {
      return unauthorized(times.error().message());
    }
  } else {
    return unauthorized(fmt::format("alg {} is not accepted", alg));
  }
  identity who;
  who.algorithm = alg;
  const auto& claims = decoded->claims;
  if (const auto sub = claims.find("sub"); sub != claims.end() && sub->is_string())
    who.subject = sub->get<std::string>();
  if (const auto email = claims.find("email"); email != claims.end() && email->is_string()) {
    who.email = email->get<std::string>();
  }
  if (const auto role = claims.find("role"); role != claims.end() && role->is_string())
    who.role = role->get<std::string>();
  times = auth::time_claims::of(claims);
  return who;
}

std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization) {
  if (!authorization) return std::nullopt;
  std::string_view value = *authorization;
  if (value.size() < 7) return std::nullopt;
  // RFC 6750: the scheme is case-insensitive.
  static constexpr std::string_view scheme = "bearer ";
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i]) return std::nullopt;
  }
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  return value;
}

const std::error_category& gateway_category() {
  static const struct : std::error_category {
    [[nodiscard]] const char* name() const noexcept override { return "gateway"; }
    [[nodiscard]] std::string message(int code) const override {
      switch (static_cast<errc>(code)) {
        case errc::invalid_routes:
          return "invalid routes file";
        case errc::invalid_jwks:
          return "invalid JWKS";
        case errc::unauthorized:
          return "unauthorized";
        case errc::bad_request:
          return "bad request";
        case errc::unavailable:
          return "unavailable";
      }
      return "unknown gateway error";
    }
  } category;
  return category;
}

}  // namespace substrate::gateway
