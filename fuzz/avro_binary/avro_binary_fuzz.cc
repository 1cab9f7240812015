// Feeds arbitrary bytes to the Avro binary decoder: byte 0 picks one of the platform's schemas
// (see fuzz/avro_fuzz.h), the rest is the datum. Decoding must never crash or over-allocate, and
// what decodes must survive JSON and binary round trips; a broken invariant aborts.
#include <cstdio>
#include <cstdlib>

#include "fuzz/avro_fuzz.h"

namespace {
std::vector<std::shared_ptr<const substrate::avro::schema>> schemas;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  schemas = substrate::avro::fuzz::load_schema_set(SUBSTRATE_SOURCE_DIR);
  if (schemas.empty()) {
    std::fprintf(stderr, "avro_binary_fuzz: no schemas under %s\n", SUBSTRATE_SOURCE_DIR);
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto problem = substrate::avro::fuzz::check_binary_input(schemas, {data, size});
  if (!problem.empty()) {
    std::fprintf(stderr, "avro_binary_fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
