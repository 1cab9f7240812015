#include "app/gateway_sink.h"

#include <mutex>

#include <fmt/format.h>

#include "app/bus_settings.h"
#include "bus/avro_serializer.h"
#include "bus/errc.h"
#include "bus/producer.h"
#include "bus/registry_client.h"
#include "bus/topic_reader.h"
#include "gateway/errc.h"

namespace substrate::app {
namespace {

// The subject readiness asks the registry about: any answer but a transport failure or a 5xx
// means the registry serves.
constexpr std::string_view probe_topic = "public.user.message.events";

error to_gateway(error e) {
  if (e.code == bus::errc::registry_unavailable || e.code == bus::errc::broker_unavailable ||
      e.code == bus::errc::timed_out) {
    return error{make_error_code(gateway::errc::unavailable), e.message()};
  }
  return e;
}

class bus_sink final : public gateway::event_sink {
public:
  bus_sink(const core::config& cfg, const std::string& builtin_broker, const std::string& builtin_registry_url)
      : connection_(bus_connection(cfg, builtin_broker)),
        registry_(bus_registry(cfg, builtin_registry_url)),
        serializer_(registry_, bus_serializer_options()),
        producer_(bus::producer_options{.connection = connection_,
                                        .client_id = "substrate-gateway",
                                        .delivery_timeout_ms = cfg.gateway.produce_timeout_ms}) {}

  result<std::string> encode(std::string_view topic, std::string_view json) override {
    auto encoded = serializer_.encode(topic, json);
    if (!encoded) return tl::unexpected(to_gateway(std::move(encoded.error())));
    return encoded;
  }

  bool encode_blocks(std::string_view topic) override { return !serializer_.resolved(topic); }

  void produce(std::string_view topic, std::string value, gateway::record_headers headers,
               gateway::produce_callback done) override {
    std::vector<bus::record_header> list;
    list.reserve(headers.size());
    for (auto& [name, text] : headers) list.push_back({std::move(name), std::move(text)});
    auto shared = std::make_shared<gateway::produce_callback>(std::move(done));
    auto enqueued = producer_.produce(topic, std::nullopt, value, list, [shared](result<bus::delivery> delivered) {
      if (!delivered) {
        (*shared)(tl::unexpected(to_gateway(std::move(delivered.error()))));
        return;
      }
      (*shared)(gateway::produced{delivered->partition, delivered->offset});
    });
    // Not enqueued: the delivery callback will not run, so answer here.
    if (!enqueued) (*shared)(tl::unexpected(to_gateway(std::move(enqueued.error()))));
  }

  std::optional<std::string> problem() override {
    if (auto latest = registry_.latest(fmt::format("{}-value", probe_topic));
        !latest && latest.error().code == bus::errc::registry_unavailable) {
      return fmt::format("schema registry: {}", latest.error().message());
    }
    std::lock_guard lock(reader_mutex_);
    if (!reader_) reader_ = std::make_unique<bus::topic_reader>(connection_, "substrate-gateway-ready");
    if (auto partitions = reader_->partitions(std::string(probe_topic), 2'000);
        !partitions && partitions.error().code == bus::errc::broker_unavailable) {
      return fmt::format("Kafka broker: {}", partitions.error().message());
    }
    return std::nullopt;
  }

private:
  bus::kafka_connection connection_;
  bus::registry_client registry_;
  bus::avro_serializer serializer_;
  bus::producer producer_;
  std::mutex reader_mutex_;
  std::unique_ptr<bus::topic_reader> reader_;
};

}  // namespace

std::unique_ptr<gateway::event_sink> make_gateway_sink(const core::config& cfg, const std::string& builtin_broker,
                                                       const std::string& builtin_registry_url) {
  return std::make_unique<bus_sink>(cfg, builtin_broker, builtin_registry_url);
}

}  // namespace substrate::app
