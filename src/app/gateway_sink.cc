#include "app/gateway_sink.h"

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "app/logger.h"
#include "avro/confluent.h"
#include "avro/json_encoder.h"
#include "avro/schema.h"
#include "gateway/errc.h"
#include "schema/registry.h"

namespace substrate::app {
namespace {

struct topic_schema {
  std::int32_t id = 0;
  std::shared_ptr<const avro::schema> schema;
};

bool unavailable(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
      return true;
    default:
      return false;
  }
}

error produce_error(rd_kafka_resp_err_t err, std::string_view topic) {
  const auto code = unavailable(err) ? gateway::errc::unavailable : gateway::errc::bad_request;
  return error{make_error_code(code), fmt::format("topic {}: {}", topic, rd_kafka_err2str(err))};
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  std::unique_ptr<gateway::produce_callback> done(static_cast<gateway::produce_callback*>(message->_private));
  if (!done) return;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    (*done)(tl::unexpected(produce_error(message->err, rd_kafka_topic_name(message->rkt))));
    return;
  }
  (*done)(gateway::produced{message->partition, message->offset});
}

class local_sink final : public gateway::event_sink {
public:
  local_sink(const core::config& cfg, const std::string& bootstrap, schema::registry& registry,
             const schema::client_settings& settings)
      : registry_(registry) {
    char problem[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const std::string& key, const std::string& value) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), problem, sizeof problem) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(fmt::format("gateway producer: librdkafka {}: {}", key, problem));
      }
    };
    set("bootstrap.servers", bootstrap);
    set("client.id", "substrate-gateway");
    set("log_level", "3");
    for (const auto& [key, value] : settings) set(key, value);
    set("acks", "all");
    set("enable.idempotence", "true");
    set("linger.ms", "1");
    set("message.timeout.ms", std::to_string(cfg.gateway.produce_timeout_ms));
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, problem, sizeof problem);
    if (!handle_) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(fmt::format("gateway producer: {}", problem));
    }
    poller_ = std::thread([this] {
      while (!stopping_.load()) rd_kafka_poll(handle_, 100);
    });
  }

  ~local_sink() override {
    rd_kafka_flush(handle_, 5'000);
    rd_kafka_purge(handle_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(handle_, 1'000);
    stopping_ = true;
    poller_.join();
    rd_kafka_destroy(handle_);
  }

  result<std::string> encode(std::string_view topic, std::string_view json) override {
    auto schema = schema_for(topic);
    if (!schema) return tl::unexpected(schema.error());
    thread_local avro::json_encoder encoder;
    std::string out;
    avro::append_confluent_header(out, schema->id);
    if (auto encoded = encoder.encode(*schema->schema, json, out); !encoded) return tl::unexpected(encoded.error());
    return out;
  }

  void produce(std::string_view topic, std::string value, gateway::record_headers headers,
               gateway::produce_callback done) override {
    rd_kafka_headers_t* list = rd_kafka_headers_new(headers.size());
    for (const auto& [name, text] : headers) {
      rd_kafka_header_add(list, name.data(), static_cast<ssize_t>(name.size()), text.data(),
                          static_cast<ssize_t>(text.size()));
    }
    auto* callback = new gateway::produce_callback(std::move(done));
    const std::string topic_name(topic);
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(handle_, RD_KAFKA_V_TOPIC(topic_name.c_str()), RD_KAFKA_V_VALUE(value.data(), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(list),
                          RD_KAFKA_V_OPAQUE(callback), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(list);
      std::unique_ptr<gateway::produce_callback> owned(callback);
      (*owned)(tl::unexpected(produce_error(err, topic)));
    }
  }

  std::optional<std::string> problem() override {
    const struct rd_kafka_metadata* metadata = nullptr;
    const auto err = rd_kafka_metadata(handle_, 0, nullptr, &metadata, 2'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fmt::format("Kafka broker: {}", rd_kafka_err2str(err));
    rd_kafka_metadata_destroy(metadata);
    return std::nullopt;
  }

private:
  result<topic_schema> schema_for(std::string_view topic) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = cache_.find(topic); it != cache_.end()) return it->second;
    }
    const std::string subject = fmt::format("{}-value", topic);
    auto answer = registry_.version(subject, "latest", false);
    if (const auto* failure = std::get_if<schema::api_error>(&answer)) {
      const auto code = failure->http_status() >= 500 ? gateway::errc::unavailable : gateway::errc::bad_request;
      return make_error(code, fmt::format("subject {}: {} ({})", subject, failure->message, failure->code));
    }
    const auto& body = std::get<nlohmann::json>(answer);
    auto parsed = avro::schema::parse(body.value("schema", std::string()));
    if (!parsed)
      return make_error(gateway::errc::bad_request, fmt::format("subject {}: {}", subject, parsed.error().message()));
    topic_schema entry{body.value("id", 0), std::make_shared<const avro::schema>(std::move(*parsed))};
    std::lock_guard lock(mutex_);
    return cache_.emplace(std::string(topic), std::move(entry)).first->second;
  }

  schema::registry& registry_;
  rd_kafka_t* handle_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  std::mutex mutex_;
  std::map<std::string, topic_schema, std::less<>> cache_;
};

}  // namespace

std::unique_ptr<gateway::event_sink> make_local_gateway_sink(const core::config& cfg, const std::string& bootstrap,
                                                             schema::registry& registry,
                                                             const schema::client_settings& settings) {
  return std::make_unique<local_sink>(cfg, bootstrap, registry, settings);
}

}  // namespace substrate::app
