#include "app/outbox_role.h"

#include "app/bus_settings.h"
#include "app/logger.h"
#include "bus/avro_serializer.h"
#include "bus/outbox_relay.h"
#include "bus/producer.h"
#include "bus/registry_client.h"

namespace substrate::app {

struct outbox_role::impl {
  bus::kafka_connection connection;
  bus::registry_client registry;
  bus::avro_serializer serializer;
  bus::producer producer;
  bus::outbox_relay relay;

  static bus::producer_options producer_options(const core::config& cfg, const bus::kafka_connection& c) {
    bus::producer_options o;
    o.connection = c;
    o.client_id = "substrate-outbox-relay";
    o.delivery_timeout_ms = cfg.bus.delivery_timeout_ms;
    return o;
  }
  static bus::outbox_relay_options relay_options(const core::config& cfg, std::string conninfo) {
    bus::outbox_relay_options o;
    o.conninfo = std::move(conninfo);
    o.connect_timeout_ms = cfg.database.connect_timeout_ms;
    o.batch_size = cfg.outbox.batch_size;
    o.poll_interval_ms = cfg.outbox.poll_interval_ms;
    o.lock_retry_ms = cfg.outbox.lock_retry_ms;
    o.retry_backoff_ms = cfg.outbox.retry_backoff_ms;
    return o;
  }

  impl(const core::config& cfg, std::string conninfo, const std::string& builtin_broker,
       const std::string& registry_url, core::metrics_registry& metrics)
      : connection(bus_connection(cfg, builtin_broker)),
        registry(bus_registry(cfg, registry_url)),
        serializer(registry, bus_serializer_options()),
        producer(producer_options(cfg, connection)),
        relay(relay_options(cfg, std::move(conninfo)), serializer, producer, connection, &metrics) {}
};

outbox_role::outbox_role(const core::config& cfg, std::string conninfo, const std::string& builtin_broker,
                         const std::string& registry_url, core::metrics_registry& metrics)
    : impl_(std::make_unique<impl>(cfg, std::move(conninfo), builtin_broker, registry_url, metrics)) {}

outbox_role::~outbox_role() {
  stop();
}

void outbox_role::start() {
  impl_->relay.start();
  app_log.info("outbox relay started", {{"kafka", impl_->connection.bootstrap}, {"registry", impl_->registry.url()}});
}

void outbox_role::stop() {
  impl_->relay.stop();
}

}  // namespace substrate::app
