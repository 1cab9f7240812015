#pragma once
// What the broker supports, per API key: the version range it advertises in ApiVersions (spec
// section 2.3) and the first flexible version (spec 1.6). Derived from the descriptions in
// schema.h, so the advertisement cannot drift from what the codec understands.

#include <cstdint>
#include <optional>
#include <vector>

#include "kafka/protocol/api_key.h"

namespace substrate::kafka {

struct api_version_range {
  api_key key;
  std::int16_t min_version;
  std::int16_t max_version;
  // First flexible version; std::nullopt when the API is never flexible (SaslHandshake).
  std::optional<std::int16_t> flexible_from;
};

// The advertisement, in api_key order (the ApiVersions response body lists exactly these).
[[nodiscard]] const std::vector<api_version_range>& supported_api_versions();

// Whether the broker advertises (key, version).
[[nodiscard]] bool supported(api_key key, std::int16_t version);

// Whether the codec can decode and encode (key, version). A superset of `supported`: some APIs
// are described a few versions past the advertisement (docs/formats/kafka-protocol.md).
[[nodiscard]] bool decodable(api_key key, std::int16_t version);

// Whether (key, version) uses the flexible encodings. Versions past the described range count as
// flexible once the API is (Kafka's "N+" flexibleVersions), which decides the header version of
// requests the broker then rejects. False for unknown keys.
[[nodiscard]] bool flexible(api_key key, std::int16_t version);

}  // namespace substrate::kafka
