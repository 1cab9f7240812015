#include "bus/errc.h"

#include <string>

namespace substrate::bus {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "bus"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::registry_unavailable:
        return "schema registry unavailable";
      case errc::subject_not_found:
        return "subject not found";
      case errc::schema_not_found:
        return "schema not found";
      case errc::registry_rejected:
        return "schema registry rejected the request";
      case errc::invalid_registry_response:
        return "invalid schema registry response";
      case errc::no_schema_for_topic:
        return "no schema for the topic";
      case errc::invalid_value:
        return "invalid Avro value";
      case errc::broker_unavailable:
        return "Kafka broker unavailable";
      case errc::produce_rejected:
        return "the broker rejected the record";
      case errc::producer_fatal:
        return "fatal producer error";
      case errc::timed_out:
        return "timed out";
      case errc::invalid_config:
        return "invalid Kafka client configuration";
      case errc::database_error:
        return "database error";
    }
    return "unknown bus error";
  }
};

}  // namespace

const std::error_category& bus_category() {
  static const category instance;
  return instance;
}

}  // namespace substrate::bus
