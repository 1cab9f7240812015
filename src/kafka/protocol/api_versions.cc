#include "kafka/protocol/api_versions.h"

#include "kafka/protocol/schema.h"

namespace substrate::kafka {

const std::vector<api_version_range>& supported_api_versions() {
  static const std::vector<api_version_range> instance = [] {
    std::vector<api_version_range> out;
    for (const api_schema* s : all_schemas()) {
      std::optional<std::int16_t> flexible_from;
      if (s->flexible_from != version_unbounded) flexible_from = s->flexible_from;
      out.push_back(api_version_range{s->key, s->advertised_min, s->advertised_max, flexible_from});
    }
    return out;
  }();
  return instance;
}

bool supported(api_key key, std::int16_t version) {
  const api_schema* s = find_schema(key);
  return s != nullptr && version >= s->advertised_min && version <= s->advertised_max;
}

bool decodable(api_key key, std::int16_t version) {
  const api_schema* s = find_schema(key);
  return s != nullptr && s->describes(version);
}

bool flexible(api_key key, std::int16_t version) {
  const api_schema* s = find_schema(key);
  return s != nullptr && s->flexible(version);
}

}  // namespace substrate::kafka
