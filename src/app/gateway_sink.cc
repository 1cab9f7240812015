#include "app/gateway_sink.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "app/bus_settings.h"
#include "app/logger.h"
#include "bus/avro_serializer.h"
#include "bus/errc.h"
#include "bus/producer.h"
#include "bus/registry_client.h"
#include "bus/topic_reader.h"
#include "gateway/errc.h"
#include "kafka/broker/local_producer.h"

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

// A failed in-process append as the gateway's contract wants it: the broker cannot store (its
// disk failed, it is stopping) -> unavailable (503); anything else was refused (500).
error local_failure(std::string_view topic, kafka::error_code code) {
  const auto context = fmt::format("{}: {}", topic, kafka::to_string(code));
  if (code == kafka::error_code::kafka_storage_error || code == kafka::error_code::broker_not_available ||
      code == kafka::error_code::request_timed_out) {
    return error{make_error_code(gateway::errc::unavailable), fmt::format("the built-in broker: {}", context)};
  }
  return error{make_error_code(bus::errc::produce_rejected), context};
}

class bus_sink final : public gateway::event_sink {
public:
  bus_sink(const core::config& cfg, const std::string& builtin_broker, const std::string& builtin_registry_url,
           std::unique_ptr<kafka::local_producer> local)
      : local_(std::move(local)),
        connection_(bus_connection(cfg, builtin_broker)),
        registry_(bus_registry(cfg, builtin_registry_url)),
        serializer_(registry_, bus_serializer_options()),
        producer_options_{.connection = connection_,
                          .client_id = "substrate-gateway",
                          .delivery_timeout_ms = cfg.gateway.produce_timeout_ms},
        producer_(local_ ? nullptr : std::make_shared<bus::producer>(producer_options_)) {}

  ~bus_sink() override {
    std::vector<std::shared_ptr<bus::producer>> all;
    {
      std::lock_guard lock(producer_mutex_);
      closing_ = true;
      all = std::move(retired_);
      all.push_back(std::move(producer_));
    }
    all.clear();  // each waits for its records in flight (close_timeout_ms), then fails the rest
  }
  bus_sink(const bus_sink&) = delete;
  bus_sink& operator=(const bus_sink&) = delete;

  result<std::string> encode(std::string_view topic, std::string_view json) override {
    auto encoded = serializer_.encode(topic, json);
    if (!encoded) return tl::unexpected(to_gateway(std::move(encoded.error())));
    return encoded;
  }

  bool encode_blocks(std::string_view topic) override { return !serializer_.resolved(topic); }

  void produce(std::string_view topic, std::string value, gateway::record_headers headers,
               gateway::produce_callback done) override {
    if (local_) {
      local_->produce(topic, std::move(value), std::move(headers),
                      [topic = std::string(topic), done = std::move(done)](kafka::local_delivery delivered) {
                        if (delivered.error != kafka::error_code::none) {
                          done(tl::unexpected(local_failure(topic, delivered.error)));
                          return;
                        }
                        done(gateway::produced{delivered.partition, delivered.offset});
                      });
      return;
    }
    std::vector<bus::record_header> list;
    list.reserve(headers.size());
    for (auto& [name, text] : headers) list.push_back({std::move(name), std::move(text)});
    auto shared = std::make_shared<gateway::produce_callback>(std::move(done));
    const std::shared_ptr<bus::producer> producer = current();
    const bus::producer* used = producer.get();
    auto enqueued =
        producer->produce(topic, std::nullopt, value, list, [this, shared, used](result<bus::delivery> delivered) {
          if (!delivered) {
            if (delivered.error().code == bus::errc::producer_fatal) replace(used, delivered.error());
            (*shared)(tl::unexpected(to_gateway(std::move(delivered.error()))));
            return;
          }
          (*shared)(gateway::produced{delivered->partition, delivered->offset});
        });
    // Not enqueued: the delivery callback will not run, so answer here.
    if (!enqueued) {
      if (enqueued.error().code == bus::errc::producer_fatal) replace(used, enqueued.error());
      (*shared)(tl::unexpected(to_gateway(std::move(enqueued.error()))));
    }
  }

  void fail_producer_for_testing(std::string_view reason) {
    if (local_) throw std::logic_error("the sink appends to the built-in broker; it has no Kafka producer");
    if (auto failed = current()->fail_for_testing(reason); !failed) throw std::runtime_error(failed.error().message());
  }

  std::optional<std::string> problem() override {
    if (auto latest = registry_.latest(fmt::format("{}-value", probe_topic));
        !latest && latest.error().code == bus::errc::registry_unavailable) {
      return fmt::format("schema registry: {}", latest.error().message());
    }
    if (local_) return std::nullopt;  // the broker is this process
    std::lock_guard lock(reader_mutex_);
    if (!reader_) reader_ = std::make_unique<bus::topic_reader>(connection_, "substrate-gateway-ready");
    if (auto partitions = reader_->partitions(std::string(probe_topic), 2'000);
        !partitions && partitions.error().code == bus::errc::broker_unavailable) {
      return fmt::format("Kafka broker: {}", partitions.error().message());
    }
    return std::nullopt;
  }

private:
  std::shared_ptr<bus::producer> current() {
    std::lock_guard lock(producer_mutex_);
    return producer_;
  }

  // After a fatal error (the idempotent producer lost its sequence state: librdkafka refuses
  // every record from then on), a new producer takes over, with a new producer id. The request
  // that met the error is answered 500 (whether its record was stored is unknown: the client may
  // retry, a duplicate is possible, a loss is not). Called from produce() or from the failed
  // producer's delivery callback, which must not destroy it: the old one is kept until the sink
  // is destroyed. Bounded: after `replacements_max` the sink keeps the failed one and logs.
  void replace(const bus::producer* failed, const error& why) {
    std::lock_guard lock(producer_mutex_);
    if (closing_ || producer_.get() != failed) return;  // closing, or another request replaced it
    if (retired_.size() >= replacements_max) {
      if (retired_.size() == replacements_max) {
        app_log.error("gateway: the Kafka producer failed fatally again; not recreated any more",
                      {{"error", why.message()}});
        retired_.push_back(nullptr);  // logged once
      }
      return;
    }
    try {
      auto fresh = std::make_shared<bus::producer>(producer_options_);
      retired_.push_back(std::move(producer_));
      producer_ = std::move(fresh);
      app_log.warn("gateway: the Kafka producer failed fatally; a new one takes over", {{"error", why.message()}});
    } catch (const std::exception& e) {
      app_log.error("gateway: cannot recreate the Kafka producer", {{"error", e.what()}});
    }
  }

  static constexpr std::size_t replacements_max = 16;
  // Set when the broker runs in this process (`up`): records bypass librdkafka (see
  // make_gateway_sink); the producer below is then never used.
  std::unique_ptr<kafka::local_producer> local_;
  bus::kafka_connection connection_;
  bus::registry_client registry_;
  bus::avro_serializer serializer_;
  bus::producer_options producer_options_;
  std::mutex producer_mutex_;
  bool closing_ = false;
  std::vector<std::shared_ptr<bus::producer>> retired_;
  std::shared_ptr<bus::producer> producer_;
  std::mutex reader_mutex_;
  std::unique_ptr<bus::topic_reader> reader_;
};

}  // namespace

void fail_gateway_producer_for_testing(gateway::event_sink& sink, std::string_view reason) {
  auto* ours = dynamic_cast<bus_sink*>(&sink);
  if (!ours) throw std::invalid_argument("not a sink of make_gateway_sink");
  ours->fail_producer_for_testing(reason);
}

std::unique_ptr<gateway::event_sink> make_gateway_sink(const core::config& cfg, const std::string& builtin_broker,
                                                       const std::string& builtin_registry_url,
                                                       const in_process_broker& local) {
  std::unique_ptr<kafka::local_producer> producer;
  if (local.broker && local.pool) {
    producer = std::make_unique<kafka::local_producer>(*local.pool, *local.broker,
                                                       std::chrono::milliseconds(cfg.gateway.produce_timeout_ms));
  }
  return std::make_unique<bus_sink>(cfg, builtin_broker, builtin_registry_url, std::move(producer));
}

}  // namespace substrate::app
