#include "app/topics_command.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <librdkafka/rdkafka.h>

#include "bus/kafka_config.h"
#include "schema/topic_admin.h"

namespace substrate::app {
namespace {

int failed(const std::string& message) {
  std::fprintf(stderr, "substrate: %s\n", message.c_str());
  return 1;
}

// The last error librdkafka reported asynchronously (connection refused, authentication
// failed), to explain a timeout in words.
struct error_sink {
  std::mutex mutex;
  std::string last;
};

void on_error(rd_kafka_t*, int, const char* reason, void* opaque) {
  auto* sink = static_cast<error_sink*>(opaque);
  std::lock_guard lock(sink->mutex);
  sink->last = reason;
}

struct client {
  rd_kafka_t* handle = nullptr;
  std::unique_ptr<error_sink> errors = std::make_unique<error_sink>();
  ~client() {
    if (handle) rd_kafka_destroy(handle);
  }
  std::string explain(std::string_view what) const {
    std::lock_guard lock(errors->mutex);
    return errors->last.empty() ? std::string(what) : fmt::format("{} ({})", what, errors->last);
  }
};

// A librdkafka handle for admin work, or an error sentence.
std::optional<std::string> connect(const topics_options& o, client& c) {
  bus::kafka_connection connection;
  connection.bootstrap = o.bootstrap;
  if (!o.sasl_user.empty()) {
    connection.sasl_mechanism = o.sasl_mechanism.empty() ? "SCRAM-SHA-256" : o.sasl_mechanism;
    connection.sasl_username = o.sasl_user;
    connection.sasl_password = o.sasl_password;
  }
  rd_kafka_conf_t* conf = nullptr;
  try {
    conf = bus::make_conf(o.bootstrap, "substrate-topics", connection.settings());
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  char error[512];
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_opaque(conf, c.errors.get());
  c.handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);  // takes conf on success
  if (!c.handle) {
    rd_kafka_conf_destroy(conf);
    return std::string(error);
  }
  return std::nullopt;
}

struct metadata_ptr {
  const rd_kafka_metadata_t* md = nullptr;
  ~metadata_ptr() {
    if (md) rd_kafka_metadata_destroy(md);
  }
};

// Metadata of every topic (never a topic list: asking for a named topic may auto-create it).
std::optional<std::string> all_metadata(const topics_options& o, client& c, metadata_ptr& out) {
  const auto err = rd_kafka_metadata(c.handle, 1, nullptr, &out.md, static_cast<int>(o.timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return c.explain(fmt::format("cannot get metadata from {}: {}", o.bootstrap, rd_kafka_err2str(err)));
  }
  return std::nullopt;
}

struct queue_ptr {
  rd_kafka_queue_t* q;
  ~queue_ptr() { rd_kafka_queue_destroy(q); }
};
struct event_ptr {
  rd_kafka_event_t* ev = nullptr;
  ~event_ptr() {
    if (ev) rd_kafka_event_destroy(ev);
  }
};

// Waits for the admin result event; an error sentence when it does not come or failed whole.
std::optional<std::string> wait_result(const topics_options& o, client& c, rd_kafka_queue_t* queue, event_ptr& out,
                                       std::string_view what) {
  // The admin request carries its own timeout; give the queue a little longer.
  out.ev = rd_kafka_queue_poll(queue, static_cast<int>(o.timeout_ms + 2000));
  if (!out.ev) return c.explain(fmt::format("{}: no answer from {}", what, o.bootstrap));
  if (rd_kafka_event_error(out.ev)) {
    return c.explain(fmt::format("{}: {}", what, rd_kafka_event_error_string(out.ev)));
  }
  return std::nullopt;
}

rd_kafka_AdminOptions_t* admin_options(const topics_options& o, client& c, rd_kafka_admin_op_t op) {
  auto* options = rd_kafka_AdminOptions_new(c.handle, op);
  char error[256];
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(o.timeout_ms), error, sizeof error);
  rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(o.timeout_ms), error, sizeof error);
  return options;
}

// Per-topic results of CreateTopics / DeleteTopics: prints each, returns the failure count.
int report(const rd_kafka_topic_result_t* const* results, std::size_t count, std::string_view verb) {
  int failures = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    const char* name = rd_kafka_topic_result_name(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::printf("%s topic %s\n", std::string(verb).c_str(), name);
    } else {
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      std::fprintf(stderr, "substrate: topic %s: %s (%s)\n", name, message ? message : rd_kafka_err2str(err),
                   rd_kafka_err2name(err));
      ++failures;
    }
  }
  return failures;
}

}  // namespace

int topics_list(const topics_options& o) {
  client c;
  if (auto e = connect(o, c)) return failed(*e);
  metadata_ptr md;
  if (auto e = all_metadata(o, c, md)) return failed(*e);
  std::vector<const rd_kafka_metadata_topic_t*> topics;
  for (int i = 0; i < md.md->topic_cnt; ++i) topics.push_back(&md.md->topics[i]);
  std::sort(topics.begin(), topics.end(), [](auto* a, auto* b) { return std::string_view(a->topic) < b->topic; });
  if (topics.empty()) std::fprintf(stderr, "no topics\n");
  std::size_t width = 5;
  for (const auto* t : topics) width = std::max(width, std::string_view(t->topic).size());
  if (!topics.empty()) std::printf("%-*s  PARTITIONS\n", static_cast<int>(width), "TOPIC");
  for (const auto* t : topics) std::printf("%-*s  %d\n", static_cast<int>(width), t->topic, t->partition_cnt);
  return 0;
}

int topics_create(const topics_options& o, const std::string& name, std::int32_t partitions, std::int32_t replication,
                  const std::vector<std::string>& configs) {
  schema::topic_spec spec{name, partitions, replication, {}, {}};
  for (const auto& kv : configs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return failed(fmt::format("--config {}: expected KEY=VALUE", kv));
    spec.configs.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  schema::client_settings settings;
  if (!o.sasl_user.empty()) {
    settings = {{"security.protocol", "SASL_PLAINTEXT"},
                {"sasl.mechanisms", o.sasl_mechanism.empty() ? "SCRAM-SHA-256" : o.sasl_mechanism},
                {"sasl.username", o.sasl_user},
                {"sasl.password", o.sasl_password}};
  }
  schema::create_report created;
  try {
    created = schema::create_topics(o.bootstrap, {spec}, o.timeout_ms, settings);
  } catch (const std::exception& e) {
    return failed(e.what());
  }
  if (!created.existing.empty()) return failed(fmt::format("topic {}: the topic already exists", name));
  std::printf("created topic %s\n", name.c_str());
  return 0;
}

int topics_delete(const topics_options& o, const std::vector<std::string>& names) {
  client c;
  if (auto e = connect(o, c)) return failed(*e);
  std::vector<rd_kafka_DeleteTopic_t*> topics;
  for (const auto& n : names) topics.push_back(rd_kafka_DeleteTopic_new(n.c_str()));
  queue_ptr queue{rd_kafka_queue_new(c.handle)};
  auto* options = admin_options(o, c, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_DeleteTopics(c.handle, topics.data(), topics.size(), options, queue.q);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_DeleteTopic_destroy_array(topics.data(), topics.size());
  event_ptr ev;
  if (auto e = wait_result(o, c, queue.q, ev, "delete topics")) return failed(*e);
  std::size_t count = 0;
  const auto* results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.ev), &count);
  return report(results, count, "deleted") == 0 ? 0 : 1;
}

int topics_describe(const topics_options& o, const std::vector<std::string>& names) {
  client c;
  if (auto e = connect(o, c)) return failed(*e);
  metadata_ptr md;
  if (auto e = all_metadata(o, c, md)) return failed(*e);
  int failures = 0;
  for (const auto& name : names) {
    const rd_kafka_metadata_topic_t* topic = nullptr;
    for (int i = 0; i < md.md->topic_cnt; ++i) {
      if (name == md.md->topics[i].topic) topic = &md.md->topics[i];
    }
    if (!topic) {
      std::fprintf(stderr, "substrate: topic %s does not exist (or you may not describe it)\n", name.c_str());
      ++failures;
      continue;
    }
    std::printf("topic %s  partitions %d\n", topic->topic, topic->partition_cnt);
    std::vector<const rd_kafka_metadata_partition_t*> partitions;
    for (int p = 0; p < topic->partition_cnt; ++p) partitions.push_back(&topic->partitions[p]);
    std::sort(partitions.begin(), partitions.end(), [](auto* a, auto* b) { return a->id < b->id; });
    for (const auto* p : partitions) {
      std::vector<std::int32_t> replicas(p->replicas, p->replicas + p->replica_cnt);
      std::vector<std::int32_t> isrs(p->isrs, p->isrs + p->isr_cnt);
      std::printf("  partition %d  leader %d  replicas [%s]  isr [%s]\n", p->id, p->leader,
                  fmt::format("{}", fmt::join(replicas, ",")).c_str(), fmt::format("{}", fmt::join(isrs, ",")).c_str());
    }
    // Its configuration (DescribeConfigs), as `kafka-topics --describe` shows it.
    rd_kafka_ConfigResource_t* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str());
    queue_ptr queue{rd_kafka_queue_new(c.handle)};
    auto* options = admin_options(o, c, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(c.handle, &resource, 1, options, queue.q);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_ConfigResource_destroy(resource);
    event_ptr ev;
    if (auto e = wait_result(o, c, queue.q, ev, fmt::format("describe configs of {}", name))) {
      std::fprintf(stderr, "substrate: %s\n", e->c_str());
      ++failures;
      continue;
    }
    std::size_t count = 0;
    const auto** resources =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.ev), &count);
    for (std::size_t r = 0; r < count; ++r) {
      if (const auto err = rd_kafka_ConfigResource_error(resources[r]); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::fprintf(stderr, "substrate: configs of %s: %s\n", name.c_str(), rd_kafka_err2str(err));
        ++failures;
        continue;
      }
      std::size_t entries = 0;
      const auto** configs = rd_kafka_ConfigResource_configs(resources[r], &entries);
      std::map<std::string, std::pair<std::string, bool>> sorted;
      for (std::size_t i = 0; i < entries; ++i) {
        const char* value = rd_kafka_ConfigEntry_value(configs[i]);
        sorted[rd_kafka_ConfigEntry_name(configs[i])] = {value ? value : "",
                                                         rd_kafka_ConfigEntry_is_default(configs[i]) != 0};
      }
      std::printf("  configs\n");
      for (const auto& [key, entry] : sorted) {
        std::printf("    %s=%s%s\n", key.c_str(), entry.first.c_str(), entry.second ? "" : "  (set on the topic)");
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace substrate::app
