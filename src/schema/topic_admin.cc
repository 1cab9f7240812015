#include "schema/topic_admin.h"

#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "bus/kafka_config.h"

namespace substrate::schema {
namespace {

struct client_ptr {
  rd_kafka_t* p = nullptr;
  ~client_ptr() {
    if (p) rd_kafka_destroy(p);
  }
};

}  // namespace

create_report create_topics(const std::string& bootstrap, const std::vector<topic_spec>& topics,
                            std::int64_t timeout_ms, const client_settings& settings) {
  create_report report;
  if (topics.empty()) return report;
  char error[512];
  rd_kafka_conf_t* conf = bus::make_conf(bootstrap, "substrate-provision", settings);
  client_ptr client;
  client.p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!client.p) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(fmt::format("cannot create a Kafka client: {}", error));
  }
  std::vector<rd_kafka_NewTopic_t*> requests;
  std::string problem;
  for (const auto& t : topics) {
    auto* request = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, error, sizeof error);
    if (!request) {
      problem = fmt::format("topic {}: {}", t.name, error);
      break;
    }
    requests.push_back(request);
    auto configs = t.configs;
    if (!t.cleanup_policy.empty()) configs.emplace_back("cleanup.policy", t.cleanup_policy);
    for (const auto& [key, value] : configs) {
      if (rd_kafka_NewTopic_set_config(request, key.c_str(), value.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        problem = fmt::format("topic {}: config {}={} rejected", t.name, key, value);
      }
    }
    if (!problem.empty()) break;
  }
  if (problem.empty()) {
    rd_kafka_queue_t* queue = rd_kafka_queue_new(client.p);
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(client.p, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(timeout_ms), error, sizeof error);
    rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(timeout_ms), error, sizeof error);
    rd_kafka_CreateTopics(client.p, requests.data(), requests.size(), options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, static_cast<int>(timeout_ms) + 2000);
    if (!event) {
      problem = fmt::format("no answer from {} to CreateTopics", bootstrap);
    } else if (rd_kafka_event_error(event)) {
      problem = rd_kafka_event_error_string(event);
    } else {
      std::size_t count = 0;
      const auto* results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
      for (std::size_t i = 0; i < count; ++i) {
        const auto err = rd_kafka_topic_result_error(results[i]);
        const std::string name = rd_kafka_topic_result_name(results[i]);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          report.created.push_back(name);
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          report.existing.push_back(name);
        } else if (problem.empty()) {
          const char* message = rd_kafka_topic_result_error_string(results[i]);
          problem =
              fmt::format("topic {}: {} ({})", name, message ? message : rd_kafka_err2str(err), rd_kafka_err2name(err));
        }
      }
    }
    if (event) rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
  }
  for (auto* request : requests) rd_kafka_NewTopic_destroy(request);
  if (!problem.empty()) throw std::runtime_error(fmt::format("cannot create topics on {}: {}", bootstrap, problem));
  return report;
}

}  // namespace substrate::schema
