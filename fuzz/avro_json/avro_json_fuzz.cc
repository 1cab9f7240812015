// Feeds arbitrary JSON to the JSON -> Avro encoder: byte 0 picks one of the platform's schemas
// (see fuzz/avro_fuzz.h), the rest is the JSON text. Encoding must never crash, and what encodes
// must decode and encode again to the same bytes; a broken invariant aborts.
#include <cstdio>
#include <cstdlib>

#include "fuzz/avro_fuzz.h"

namespace {
std::vector<std::shared_ptr<const substrate::avro::schema>> schemas;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  schemas = substrate::avro::fuzz::load_schema_set(SUBSTRATE_SOURCE_DIR);
  if (schemas.empty()) {
    std::fprintf(stderr, "avro_json_fuzz: no schemas under %s\n", SUBSTRATE_SOURCE_DIR);
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto problem = substrate::avro::fuzz::check_json_input(schemas, {data, size});
  if (!problem.empty()) {
    std::fprintf(stderr, "avro_json_fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
