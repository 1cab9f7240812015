#include "stream/errc.h"

namespace substrate::stream {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "stream"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_record:
        return "invalid record";
      case errc::decode_failed:
        return "cannot decode record";
      case errc::unavailable:
        return "dependency unavailable";
      case errc::needs_transaction:
        return "the handler needs its transaction";
    }
    return "unknown stream error";
  }
};

}  // namespace

const std::error_category& stream_category() {
  static const category instance;
  return instance;
}

}  // namespace substrate::stream
