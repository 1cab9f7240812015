// JSON -> Avro encodes and Avro -> JSON decodes per second for one schema, through our library
// (and, when built with Apache Avro C, through libavro for comparison). bench/avro/run starts it
// next to the avsc script and prints the ratios; see bench/README.md.
//
//   avro_bench SCHEMA RECORDS SECONDS
//
// RECORDS is a JSON array of records; the loop cycles through them. Both directions start and
// end where the platform does: JSON text in and Avro bytes out (the gateway), Avro bytes in and
// JSON text out (consumers). Output, one line each: "<impl> encode <ops/s>" and
// "<impl> decode <ops/s>".
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "avro/json_decoder.h"
#include "avro/json_encoder.h"
#include "avro/schema.h"

#ifdef SUBSTRATE_BENCH_LIBAVRO
#include "libavro_codec.h"
#endif

namespace {

using clock_type = std::chrono::steady_clock;

std::string read_file(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "avro_bench: cannot read %s\n", path);
    std::exit(1);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `op(i)` for about `seconds`, returns operations per second. The clock is read every 256
// operations so it costs nothing measurable.
template <class Op>
double measure(double seconds, Op&& op) {
  // Warm-up: caches, branch predictors, allocator pools.
  for (std::size_t i = 0; i < 10000; ++i) op(i);
  std::size_t count = 0;
  auto start = clock_type::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < deadline) {
    for (std::size_t i = 0; i < 256; ++i) op(count + i);
    count += 256;
    now = clock_type::now();
  }
  return static_cast<double>(count) / std::chrono::duration<double>(now - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: avro_bench SCHEMA RECORDS SECONDS\n");
    return 1;
  }
  const std::string schema_text = read_file(argv[1]);
  auto parsed = substrate::avro::schema::parse(schema_text);
  if (!parsed) {
    std::fprintf(stderr, "avro_bench: %s\n", parsed.error().message().c_str());
    return 1;
  }
  const auto& schema = *parsed;
  const double seconds = std::stod(argv[3]);

  // The records as separate JSON texts, as requests bring them.
  std::vector<std::string> records;
  {
    simdjson::dom::parser parser;
    simdjson::dom::array arr;
    auto text = read_file(argv[2]);
    if (parser.parse(text).get(arr)) {
      std::fprintf(stderr, "avro_bench: %s is not a JSON array\n", argv[2]);
      return 1;
    }
    for (auto el : arr) records.push_back(simdjson::minify(el));
  }

  substrate::avro::json_encoder encoder;
  std::vector<std::string> encoded(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (auto r = encoder.encode(schema, records[i], encoded[i]); !r) {
      std::fprintf(stderr, "avro_bench: record %zu: %s\n", i, r.error().message().c_str());
      return 1;
    }
  }

  std::string out;
  std::size_t sink = 0;
  double encode_rate = measure(seconds, [&](std::size_t i) {
    out.clear();
    auto r = encoder.encode(schema, records[i % records.size()], out);
    sink += r ? out.size() : 0;
  });
  double decode_rate = measure(seconds, [&](std::size_t i) {
    out.clear();
    const auto& bytes = encoded[i % encoded.size()];
    auto r = substrate::avro::decode_json(
        schema, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), out);
    sink += r ? out.size() : 0;
  });
  std::printf("substrate encode %.0f\nsubstrate decode %.0f\n", encode_rate, decode_rate);

#ifdef SUBSTRATE_BENCH_LIBAVRO
  libavro_codec lib(schema_text);
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::string bytes;
    if (!lib.encode(records[i], bytes) || bytes != encoded[i]) {
      std::fprintf(stderr, "avro_bench: libavro encodes record %zu differently\n", i);
      return 1;
    }
  }
  double lib_encode = measure(seconds, [&](std::size_t i) {
    out.clear();
    sink += lib.encode(records[i % records.size()], out) ? out.size() : 0;
  });
  double lib_decode = measure(seconds, [&](std::size_t i) {
    out.clear();
    sink += lib.decode(encoded[i % encoded.size()], out) ? out.size() : 0;
  });
  std::printf("libavro encode %.0f\nlibavro decode %.0f\n", lib_encode, lib_decode);
#endif
  if (sink == 0) std::printf("(nothing encoded)\n");
  return 0;
}
