#pragma once
// Helpers of the Avro unit tests: parse a schema that must be valid, and encode/decode through
// hex strings so expectations read like the specification's examples.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "avro/json_decoder.h"
#include "avro/json_encoder.h"
#include "avro/schema.h"

namespace substrate::avro::test {

inline schema must_parse(std::string_view text) {
  auto s = schema::parse(text);
  if (!s) ADD_FAILURE() << "schema did not parse: " << s.error().message() << "\n" << text;
  return s ? std::move(*s) : *schema::parse("\"null\"");
}

inline std::shared_ptr<const schema> shared(std::string_view text) {
  return std::make_shared<const schema>(must_parse(text));
}

inline std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The hex of the encoding, or the error message.
inline std::string encode_hex(const schema& s, std::string_view json, encode_options options = {}) {
  json_encoder encoder(options);
  std::string out;
  auto r = encoder.encode(s, json, out);
  return r ? to_hex(out) : fmt::format("!{}", r.error().message());
}

inline result<void> encode_result(const schema& s, std::string_view json) {
  json_encoder encoder;
  std::string out;
  return encoder.encode(s, json, out);
}

// The JSON of the datum, or the error message.
inline std::string decode_hex(const schema& s, std::string_view hex, decode_options options = {}) {
  auto bytes = from_hex(hex);
  std::string out;
  auto r = decode_json(s, bytes, out, options);
  return r ? out : fmt::format("!{}", r.error().message());
}

inline result<void> decode_result(const schema& s, std::span<const std::uint8_t> bytes, decode_options options = {}) {
  std::string out;
  return decode_json(s, bytes, out, options);
}

}  // namespace substrate::avro::test
