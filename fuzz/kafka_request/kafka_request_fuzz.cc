// Feeds arbitrary bytes through the Kafka request path: split one frame off the input (size
// prefix and limit), parse the request header, and if the codec describes (api_key,
// api_version), decode the body. Anything that decodes must survive a round trip: encoding it
// and decoding that again gives an equal message, and encoding is deterministic. The same body
// is also tried as the response of that API, which exercises the response descriptions with the
// same inputs. A broken invariant aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "kafka/protocol/api_versions.h"
#include "kafka/protocol/codec.h"
#include "kafka/protocol/frame.h"

namespace {

using namespace substrate::kafka;

// Small frames only: the fuzzer's inputs are small, and a lower limit exercises the limit check.
constexpr std::int32_t frame_bytes_max = 1 << 20;

void check_round_trip(api_key key, message_kind kind, std::int16_t version, std::span<const std::uint8_t> body) {
  auto decoded = decode(key, kind, version, body);
  if (!decoded) return;
  auto encoded = encode(key, kind, version, *decoded);
  if (!encoded) {
    std::fprintf(stderr, "re-encoding a decoded message failed: %s\n", encoded.error().message().c_str());
    std::abort();
  }
  auto again = decode(key, kind, version, *encoded);
  if (!again) {
    std::fprintf(stderr, "decoding our own encoding failed: %s\n", again.error().message().c_str());
    std::abort();
  }
  if (!(*again == *decoded)) {
    std::fprintf(stderr, "round trip changed the message\n");
    std::abort();
  }
  auto encoded_again = encode(key, kind, version, *again);
  if (!encoded_again || *encoded_again != *encoded) {
    std::fprintf(stderr, "encoding is not deterministic\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto frame = next_frame({data, size}, frame_bytes_max);
  if (!frame || !*frame) return 0;
  auto request = parse_request((*frame)->body);
  if (!request) return 0;
  const auto& header = request->header;
  if (!decodable(header.key, header.api_version)) return 0;
  check_round_trip(header.key, message_kind::request, header.api_version, request->body);
  check_round_trip(header.key, message_kind::response, header.api_version, request->body);
  return 0;
}
