#include "auth/jwt.h"

#include <array>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace substrate::auth {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac.data(), &length);
  return {reinterpret_cast<const char*>(mac.data()), length};
}

result<nlohmann::json> parse_object(std::string_view part, std::string_view what) {
  auto text = base64url_decode(part);
  if (!text) return make_error(errc::malformed, fmt::format("the {} is not base64url", what));
  auto parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return make_error(errc::malformed, fmt::format("the {} is not a JSON object", what));
  return parsed;
}

// A numeric date claim when present; nullopt when absent; an error when not a number.
result<std::optional<std::int64_t>> numeric_date(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_number()) return make_error(errc::malformed, fmt::format("claim {} is not a number", name));
  return std::optional<std::int64_t>{static_cast<std::int64_t>(it->get<double>())};
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                   std::uint8_t(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (bytes.size() - i == 1) {
    const auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = sextet(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Unused trailing bits must be zero, so every token has exactly one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

result<decoded_token> decode(std::string_view token) {
  if (token.size() > token_bytes_max) {
    return make_error(errc::malformed, fmt::format("the token is longer than {} bytes", token_bytes_max));
  }
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return make_error(errc::malformed, "a JWT has three parts separated by dots");
  }
  decoded_token out;
  auto header = parse_object(token.substr(0, first), "header");
  if (!header) return tl::unexpected(header.error());
  auto claims = parse_object(token.substr(first + 1, second - first - 1), "payload");
  if (!claims) return tl::unexpected(claims.error());
  auto signature = base64url_decode(token.substr(second + 1));
  if (!signature) return make_error(errc::malformed, "the signature is not base64url");
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return make_error(errc::malformed, "the header has no alg");
  out.header = std::move(*header);
  out.claims = std::move(*claims);
  out.signing_input = std::string(token.substr(0, second));
  out.signature = std::move(*signature);
  return out;
}

result<void> check_time_claims(const nlohmann::json& claims, const verify_options& options) {
  auto exp = numeric_date(claims, "exp");
  if (!exp) return tl::unexpected(exp.error());
  auto nbf = numeric_date(claims, "nbf");
  if (!nbf) return tl::unexpected(nbf.error());
  auto iat = numeric_date(claims, "iat");
  if (!iat) return tl::unexpected(iat.error());
  if (!*exp && options.require_exp) return make_error(errc::malformed, "the token has no exp claim");
  if (*exp && options.now_s >= **exp + options.leeway_s) return make_error(errc::expired, "the token has expired");
  if (*nbf && options.now_s + options.leeway_s < **nbf) return make_error(errc::not_yet_valid, "nbf is in the future");
  if (*iat && options.now_s + options.leeway_s < **iat) return make_error(errc::not_yet_valid, "iat is in the future");
  return {};
}

result<decoded_token> verify_hs256(std::string_view token, std::string_view secret, const verify_options& options) {
  auto decoded = decode(token);
  if (!decoded) return decoded;
  const auto& alg = decoded->header["alg"].get_ref<const std::string&>();
  if (alg != "HS256") {
    return make_error(errc::unsupported_algorithm, fmt::format("alg {} is not accepted, only HS256", alg));
  }
  if (const auto typ = decoded->header.find("typ");
      typ != decoded->header.end() && !(typ->is_string() && typ->get_ref<const std::string&>() == "JWT")) {
    return make_error(errc::malformed, "the header's typ is not JWT");
  }
  const std::string expected = hmac_sha256(secret, decoded->signing_input);
  if (decoded->signature.size() != expected.size() ||
      CRYPTO_memcmp(decoded->signature.data(), expected.data(), expected.size()) != 0) {
    return make_error(errc::bad_signature, "the signature does not match");
  }
  if (auto times = check_time_claims(decoded->claims, options); !times) return tl::unexpected(times.error());
  return decoded;
}

std::string sign_hs256(const nlohmann::json& claims, std::string_view secret, std::string_view kid) {
  nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = std::string(kid);
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  const std::string mac = hmac_sha256(secret, input);
  return input + "." + base64url_encode(mac);
}

const std::error_category& auth_category() {
  static const struct : std::error_category {
    [[nodiscard]] const char* name() const noexcept override { return "auth"; }
    [[nodiscard]] std::string message(int code) const override {
      switch (static_cast<errc>(code)) {
        case errc::malformed:
          return "malformed token";
        case errc::unsupported_algorithm:
          return "unsupported token algorithm";
        case errc::bad_signature:
          return "invalid token signature";
        case errc::expired:
          return "token expired";
        case errc::not_yet_valid:
          return "token not yet valid";
      }
      return "unknown auth error";
    }
  } category;
  return category;
}

}  // namespace substrate::auth
