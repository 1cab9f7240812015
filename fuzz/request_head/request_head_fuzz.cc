// Differential: whatever parse_request_head (the HTTP server's fast path) accepts, Beast (the
// server's parser for everything else) must accept too and read the same way (beast_agreement.h).
// A disagreement aborts. Inputs it declines are not its business.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "beast_agreement.h"
#include "net/request_head.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Small limits, so the limit checks are reached too.
  constexpr std::size_t head_max = 512;
  constexpr std::uint64_t body_max = 256;
  const auto head = substrate::net::parse_request_head(bytes, head_max, body_max);
  if (!head) return 0;
  if (substrate::net::testing::beast_disagreement(bytes, *head, head_max, body_max)) std::abort();
  return 0;
}
