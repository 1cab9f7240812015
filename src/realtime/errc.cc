#include "realtime/errc.h"

namespace substrate::realtime {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "realtime"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::malformed:
        return "malformed realtime message";
      case errc::unknown_relation:
        return "change for an unknown relation";
      case errc::replication:
        return "replication failed";
    }
    return "unknown realtime error";
  }
};

}  // namespace

const std::error_category& realtime_category() {
  static const category instance;
  return instance;
}

}  // namespace substrate::realtime
