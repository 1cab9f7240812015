// pgoutput messages and replication envelopes from the database: any bytes decode to a message
// or to errc::malformed, never a crash or an unbounded allocation. The first byte picks the
// decoder (even: a pgoutput message, odd: a CopyBoth envelope and its payload).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "realtime/pgoutput.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace substrate::realtime::pgoutput;
  if (data[0] % 2 == 0) {
    (void)decode_message(input);
  } else if (auto e = decode_envelope(input)) {
    if (const auto* x = std::get_if<xlog_data>(&*e)) (void)decode_message(x->payload);
  }
  return 0;
}
