#pragma once
// Shared by fuzz/avro_binary, fuzz/avro_json and the unit test that replays their corpora
// (tests/unit/avro/fuzz_corpus_test.cc): the schemas the first input byte chooses from, and the
// invariants each input must keep. A check returns what broke, or an empty string.
//
// The schema set: every schemas/**/*.avsc in path order, then tests/data/avro/all_types.avsc
// (which has every Avro type); input byte 0 modulo its size picks one.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "avro/json_decoder.h"
#include "avro/json_encoder.h"
#include "avro/resolver.h"
#include "avro/schema.h"

namespace substrate::avro::fuzz {

inline std::vector<std::filesystem::path> schema_set_files(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root / "schemas")) {
    if (e.path().extension() == ".avsc") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  files.push_back(root / "tests/data/avro/all_types.avsc");
  return files;
}

inline std::vector<std::shared_ptr<const schema>> load_schema_set(const std::filesystem::path& root) {
  std::vector<std::shared_ptr<const schema>> out;
  for (const auto& f : schema_set_files(root)) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    auto s = schema::parse(text.str());
    if (s) out.push_back(std::make_shared<const schema>(std::move(*s)));
  }
  return out;
}

// Avro bytes: decoding must not crash; what decodes must re-encode from its JSON and decode to
// the same JSON again (a fixed point: the bytes themselves may differ, e.g. overlong varints or
// negative block counts are accepted but never written), and the resolver with the same schema
// on both sides must accept exactly the same bytes.
inline std::string check_binary_input(const std::vector<std::shared_ptr<const schema>>& schemas,
                                      std::span<const std::uint8_t> input) {
  if (input.empty() || schemas.empty()) return {};
  const auto& s = schemas[input[0] % schemas.size()];
  auto body = input.subspan(1);
  for (auto style : {union_style::nullable_plain, union_style::tagged}) {
    decode_options options;
    options.unions = style;
    std::string json;
    auto decoded = decode_json(*s, body, json, options);
    if (!decoded) continue;
    // The decoder reads any string as a uuid; only the encoder checks the format.
    encode_options lenient;
    lenient.validate_uuid = false;
    json_encoder encoder(lenient);
    std::string bytes;
    if (auto r = encoder.encode(*s, json, bytes); !r)
      return fmt::format("decoded JSON does not encode: {}", r.error().message());
    std::string again;
    auto view = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (auto r = decode_json(*s, view, again, options); !r)
      return fmt::format("re-encoded bytes do not decode: {}", r.error().message());
    if (again != json) return fmt::format("decode -> encode -> decode changed the JSON:\n{}\n{}", json, again);
  }
  // Resolvers are built once per schema: building one per input would dominate the run. The
  // cache holds the schemas too, so a cached address can never be reused by another schema.
  static std::map<std::shared_ptr<const schema>, resolver> self_resolvers;
  auto it = self_resolvers.find(s);
  if (it == self_resolvers.end()) {
    auto created = resolver::create(s, s);
    if (!created) return fmt::format("a schema does not resolve to itself: {}", created.error().message());
    it = self_resolvers.emplace(s, std::move(*created)).first;
  }
  const resolver* res = &it->second;
  std::string transcoded, json;
  bool resolved = static_cast<bool>(res->transcode(body, transcoded));
  bool decoded = static_cast<bool>(decode_json(*s, body, json));
  if (resolved != decoded) return "the resolver and the decoder disagree on the same bytes";
  return {};
}

// JSON text: encoding must not crash; what encodes must decode, and the decoded JSON must encode
// to exactly the same bytes (the encoder's output is canonical).
inline std::string check_json_input(const std::vector<std::shared_ptr<const schema>>& schemas,
                                    std::span<const std::uint8_t> input) {
  if (input.empty() || schemas.empty()) return {};
  const auto& s = schemas[input[0] % schemas.size()];
  std::string_view text(reinterpret_cast<const char*>(input.data()) + 1, input.size() - 1);
  json_encoder encoder;
  std::string bytes;
  if (!encoder.encode(*s, text, bytes)) return {};
  for (auto style : {union_style::nullable_plain, union_style::tagged}) {
    decode_options options;
    options.unions = style;
    std::string json;
    auto view = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (auto r = decode_json(*s, view, json, options); !r)
      return fmt::format("encoded bytes do not decode: {}", r.error().message());
    std::string again;
    if (auto r = encoder.encode(*s, json, again); !r)
      return fmt::format("decoded JSON does not encode: {}", r.error().message());
    if (again != bytes) return fmt::format("encode -> decode -> encode changed the bytes for {}", json);
  }
  return {};
}

}  // namespace substrate::avro::fuzz
