#include "app/events_command.h"

#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "app/bus_settings.h"
#include "bus/avro_serializer.h"
#include "bus/producer.h"
#include "bus/registry_client.h"
#include "bus/topic_reader.h"

namespace substrate::app {
namespace {

struct clients {
  bus::kafka_connection connection;
  std::unique_ptr<bus::registry_client> registry;
  std::unique_ptr<bus::avro_serializer> serializer;

  clients(const core::config& cfg, const events_options& options) {
    connection = bus_connection(cfg);
    if (!options.bootstrap.empty()) connection.bootstrap = options.bootstrap;
    auto registry_options = bus_registry(cfg);
    if (!options.registry_url.empty()) registry_options.url = options.registry_url;
    registry = std::make_unique<bus::registry_client>(registry_options);
    serializer = std::make_unique<bus::avro_serializer>(*registry, bus_serializer_options());
  }
};

struct in_flight {
  std::int64_t line = 0;
  std::future<result<bus::delivery>> done;
};

}  // namespace

int events_produce(const core::config& cfg, const events_options& options) {
  try {
    clients c(cfg, options);
    bus::producer_options producer_options;
    producer_options.connection = c.connection;
    producer_options.client_id = "substrate-events";
    producer_options.delivery_timeout_ms = cfg.bus.delivery_timeout_ms;
    bus::producer producer(producer_options);

    int status = 0;
    std::deque<in_flight> pending;
    // Prints acknowledgements in input order; with `wait`, waits for each.
    auto drain = [&](bool wait) {
      while (!pending.empty()) {
        auto& front = pending.front();
        if (!wait && front.done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
        auto r = front.done.get();
        if (r) {
          std::printf("%d %lld\n", r->partition, static_cast<long long>(r->offset));
        } else {
          std::fprintf(stderr, "line %lld: %s\n", static_cast<long long>(front.line), r.error().message().c_str());
          status = 1;
        }
        pending.pop_front();
      }
    };

    std::string line;
    std::int64_t number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      auto value = c.serializer->encode(options.topic, line);
      if (!value) {
        drain(true);
        std::fprintf(stderr, "line %lld: %s\n", static_cast<long long>(number), value.error().message().c_str());
        std::fflush(stdout);
        return 1;
      }
      auto promise = std::make_shared<std::promise<result<bus::delivery>>>();
      pending.push_back({number, promise->get_future()});
      auto enqueued = producer.produce(options.topic, options.key, *value, {},
                                       [promise](result<bus::delivery> r) { promise->set_value(std::move(r)); });
      if (!enqueued) {
        pending.pop_back();
        drain(true);
        std::fprintf(stderr, "line %lld: %s\n", static_cast<long long>(number), enqueued.error().message().c_str());
        std::fflush(stdout);
        return 1;
      }
      drain(false);
    }
    drain(true);
    std::fflush(stdout);
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "substrate: %s\n", e.what());
    return 1;
  }
}

int events_consume(const core::config& cfg, const events_options& options) {
  try {
    clients c(cfg, options);
    bus::topic_reader reader(c.connection, "substrate-events");
    const std::int64_t metadata_timeout_ms = 10'000;
    if (auto s = reader.subscribe(options.topic, options.from_beginning ? bus::start_at::beginning : bus::start_at::end,
                                  metadata_timeout_ms);
        !s) {
      std::fprintf(stderr, "substrate: %s\n", s.error().message().c_str());
      return 1;
    }
    int status = 0;
    std::int64_t printed = 0;
    while (options.count < 0 || printed < options.count) {
      auto next = reader.next(options.timeout_ms < 0 ? 1000 : options.timeout_ms);
      if (!next) {
        std::fprintf(stderr, "substrate: %s\n", next.error().message().c_str());
        return 1;
      }
      if (!*next) {
        if (options.timeout_ms < 0) continue;
        break;
      }
      const auto& record = **next;
      if (!record.value) {
        std::fprintf(stderr, "%d/%lld: a tombstone (null value), skipped\n", record.partition,
                     static_cast<long long>(record.offset));
        status = 1;
        continue;
      }
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(record.value->data());
      auto decoded = c.serializer->decode({bytes, record.value->size()});
      if (!decoded) {
        std::fprintf(stderr, "%d/%lld: %s\n", record.partition, static_cast<long long>(record.offset),
                     decoded.error().message().c_str());
        status = 1;
        continue;
      }
      std::fwrite(decoded->json.data(), 1, decoded->json.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
      ++printed;
    }
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "substrate: %s\n", e.what());
    return 1;
  }
}

}  // namespace substrate::app
