#include "gateway/jwks_refresher.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "auth/jwt.h"
#include "gateway/errc.h"

namespace substrate::gateway {
namespace {

using namespace std::chrono_literals;

const std::string secret = "0123456789abcdef0123456789abcdef-gateway-test";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An EC P-256 key pair: its JWK (public half) and ES256 tokens signed with it.
struct ec_key {
  std::shared_ptr<EVP_PKEY> key;
  nlohmann::json jwk;

  explicit ec_key(const std::string& kid) : key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free) {
    std::string point(65, '\0');
    std::size_t length = 0;
    EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, reinterpret_cast<unsigned char*>(point.data()),
                                    point.size(), &length);
    jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"kid", kid},
           {"x", auth::base64url_encode(point.substr(1, 32))},
           {"y", auth::base64url_encode(point.substr(33, 32))}};
  }

  [[nodiscard]] std::string token() const {
    const nlohmann::json header = {{"alg", "ES256"}, {"typ", "JWT"}, {"kid", jwk["kid"]}};
    const nlohmann::json claims = {{"sub", "2b7c1a9e-0000-4000-8000-000000000001"}, {"exp", unix_now() + 600}};
    const std::string input = auth::base64url_encode(header.dump()) + "." + auth::base64url_encode(claims.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
    std::size_t length = 0;
    EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string der(length, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return input + "." + auth::base64url_encode(raw);
  }
};

std::string document(const ec_key& key) {
  return nlohmann::json{{"keys", {key.jwk}}}.dump();
}

// What the fetch serves, changed by the test; counts the fetches.
struct served {
  std::mutex mutex;
  result<std::string> text = make_error(errc::invalid_jwks, "nothing served yet");
  std::atomic<int> fetches{0};

  jwks_refresher::fetch_function fetcher() {
    return [this]() -> result<std::string> {
      ++fetches;
      std::lock_guard lock(mutex);
      return text;
    };
  }
  void serve(result<std::string> next) {
    std::lock_guard lock(mutex);
    text = std::move(next);
  }
};

template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

TEST(jwks_refresher, an_unknown_kid_brings_the_rotated_key_in_and_the_old_one_out) {
  const ec_key first("k1");
  const ec_key second("k2");
  served source;
  source.serve(document(first));
  core::metrics_registry metrics;
  token_verifier verifier(secret, *parse_jwks(document(first)));
  jwks_refresher refresher(verifier, {}, source.fetcher(), {.refresh_ms = 0, .min_interval_ms = 0}, metrics,
                           std::chrono::steady_clock::now());
  verifier.on_unknown_kid([&refresher](const std::string&) { refresher.request(); });
  refresher.start();
  ASSERT_TRUE(verifier.verify(first.token(), unix_now()));
  EXPECT_EQ(source.fetches.load(), 0) << "no periodic fetch with refresh_ms 0";

  source.serve(document(second));  // the provider rotates: k2 in, k1 out
  const auto token = second.token();
  EXPECT_FALSE(verifier.verify(token, unix_now()));  // unknown for now: refused, and a fetch asked
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(verifier.verify(token, unix_now())); }));
  EXPECT_FALSE(verifier.verify(first.token(), unix_now())) << "the withdrawn key verifies nothing more";
  refresher.stop();
}

TEST(jwks_refresher, fetches_asked_by_unknown_kids_are_rate_limited) {
  const ec_key first("k1");
  served source;
  source.serve(document(first));
  core::metrics_registry metrics;
  token_verifier verifier(secret, *parse_jwks(document(first)));
  jwks_refresher refresher(verifier, {}, source.fetcher(), {.refresh_ms = 0, .min_interval_ms = 400}, metrics,
                           std::chrono::steady_clock::now());
  verifier.on_unknown_kid([&refresher](const std::string&) { refresher.request(); });
  refresher.start();
  const auto made_up = ec_key("made-up").token();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(verifier.verify(made_up, unix_now()));
  // Deferred to 400 ms after the start-up fetch, then one fetch for all 50.
  ASSERT_TRUE(eventually([&] { return source.fetches.load() >= 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(source.fetches.load(), 1);
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(verifier.verify(made_up, unix_now()));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(source.fetches.load(), 1) << "the next one waits for the interval again";
  ASSERT_TRUE(eventually([&] { return source.fetches.load() == 2; }));
  refresher.stop();
}

TEST(jwks_refresher, refreshes_periodically_and_keeps_the_keys_when_a_fetch_fails) {
  const ec_key first("k1");
  const ec_key second("k2");
  const ec_key from_file("file");
  served source;
  source.serve(make_error(errc::invalid_jwks, "connection refused"));
  core::metrics_registry metrics;
  std::vector<jwk> file_keys = *parse_jwks(document(from_file));
  std::vector<jwk> keys = file_keys;
  const std::vector<jwk> first_keys = *parse_jwks(document(first));
  keys.insert(keys.end(), first_keys.begin(), first_keys.end());
  token_verifier verifier(secret, keys);
  jwks_refresher refresher(verifier, file_keys, source.fetcher(), {.refresh_ms = 30, .min_interval_ms = 0}, metrics,
                           std::chrono::steady_clock::now());
  refresher.start();
  ASSERT_TRUE(eventually([&] { return source.fetches.load() >= 2; }));
  EXPECT_TRUE(verifier.verify(first.token(), unix_now())) << "failed fetches keep the previous keys";
  source.serve(std::string("{\"keys\": []}"));  // no usable key: kept too
  const int seen = source.fetches.load();
  ASSERT_TRUE(eventually([&] { return source.fetches.load() >= seen + 2; }));
  EXPECT_TRUE(verifier.verify(first.token(), unix_now()));
  source.serve(document(second));
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(verifier.verify(second.token(), unix_now())); }));
  EXPECT_FALSE(verifier.verify(first.token(), unix_now()));
  EXPECT_TRUE(verifier.verify(from_file.token(), unix_now())) << "the file's keys stay";
  refresher.stop();
  const auto text = metrics.render();
  EXPECT_NE(text.find("substrate_gateway_jwks_refresh_total{result=\"error\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("substrate_gateway_jwks_refresh_total{result=\"ok\"}"), std::string::npos) << text;
}

}  // namespace
}  // namespace substrate::gateway
