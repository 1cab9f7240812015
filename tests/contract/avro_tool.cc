// avro_tool: our Avro library on the command line, for the contract tests that compare it with
// an independent implementation (avsc) and for poking at schemas by hand.
//
//   avro_tool encode SCHEMA           JSON lines on stdin -> hex Avro lines on stdout
//   avro_tool decode SCHEMA [STYLE]   hex lines -> JSON lines; STYLE: nullable-plain (default),
//                                     tagged, plain (see json_decoder.h union_style)
//   avro_tool resolve WRITER READER   hex lines written with WRITER -> JSON lines shaped by READER
//   avro_tool canonical SCHEMA        one JSON object: pcf, crc64 (hex), sha256 (hex), compact
//   avro_tool compat LEVEL NEW OLD... one line per incompatibility; exit 1 when there are any
//
// A line that fails prints "!<error message>" instead, so one bad record does not hide the others.
// Exit status: 0, except 1 for incompatible schemas and 2 for usage or schema errors.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "avro/canonical.h"
#include "avro/compatibility.h"
#include "avro/json_decoder.h"
#include "avro/json_encoder.h"
#include "avro/resolver.h"

namespace {

using namespace substrate::avro;

std::shared_ptr<const schema> load(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "avro_tool: cannot read %s\n", path);
    std::exit(2);
  }
  std::stringstream text;
  text << in.rdbuf();
  auto s = schema::parse(text.str());
  if (!s) {
    std::fprintf(stderr, "avro_tool: %s: %s\n", path, s.error().message().c_str());
    std::exit(2);
  }
  return std::make_shared<const schema>(std::move(*s));
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

bool from_hex(std::string_view hex, std::vector<std::uint8_t>& out) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: avro_tool encode|decode|resolve|canonical|compat ... (see avro_tool.cc)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string command = argv[1];
  std::string line;
  if (command == "encode") {
    auto s = load(argv[2]);
    json_encoder encoder;
    std::string out;
    while (std::getline(std::cin, line)) {
      out.clear();
      auto r = encoder.encode(*s, line, out);
      std::cout << (r ? to_hex(out) : "!" + r.error().message()) << '\n';
    }
    return 0;
  }
  if (command == "decode" || command == "resolve") {
    decode_options options;
    std::shared_ptr<const schema> writer = load(argv[2]);
    std::optional<resolver> res;
    int style_arg = 3;
    if (command == "resolve") {
      if (argc < 4) return usage();
      auto r = resolver::create(writer, load(argv[3]));
      if (!r) {
        std::fprintf(stderr, "avro_tool: %s\n", r.error().message().c_str());
        return 1;
      }
      res.emplace(std::move(*r));
      style_arg = 4;
    }
    if (argc > style_arg) {
      std::string style = argv[style_arg];
      if (style == "tagged") {
        options.unions = union_style::tagged;
      } else if (style == "plain") {
        options.unions = union_style::plain;
      } else if (style != "nullable-plain") {
        return usage();
      }
    }
    std::vector<std::uint8_t> bytes;
    std::string out;
    while (std::getline(std::cin, line)) {
      if (!from_hex(line, bytes)) {
        std::cout << "!not hex\n";
        continue;
      }
      out.clear();
      auto r = res ? res->decode_json(bytes, out, options) : decode_json(*writer, bytes, out, options);
      std::cout << (r ? out : "!" + r.error().message()) << '\n';
    }
    return 0;
  }
  if (command == "canonical") {
    auto s = load(argv[2]);
    auto pcf = parsing_canonical_form(*s);
    auto digest = fingerprint_sha256(*s);
    std::string out = "{\"pcf\":";
    append_json_string(out, pcf);
    out += fmt::format(",\"crc64\":\"{:016x}\",\"sha256\":\"{}\",\"compact\":", fingerprint64(*s),
                       to_hex({reinterpret_cast<const char*>(digest.data()), digest.size()}));
    append_json_string(out, compact_json(*s));
    std::cout << out << "}\n";
    return 0;
  }
  if (command == "compat") {
    if (argc < 4) return usage();
    auto level = parse_compatibility_level(argv[2]);
    if (!level) return usage();
    auto candidate = load(argv[3]);
    std::vector<std::shared_ptr<const schema>> versions;
    std::vector<const schema*> existing;
    for (int i = 4; i < argc; ++i) {
      versions.push_back(load(argv[i]));
      existing.push_back(versions.back().get());
    }
    auto problems = check_compatibility(*level, *candidate, existing);
    for (const auto& p : problems) std::cout << p.path << ": " << p.message << '\n';
    return problems.empty() ? 0 : 1;
  }
  return usage();
}
