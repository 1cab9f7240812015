#include "bus/topic_reader.h"

#include <chrono>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "bus/errc.h"

namespace substrate::bus {

std::optional<std::string> consumed_record::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return h.value;
  }
  return std::nullopt;
}

struct topic_reader::impl {
  kafka_connection connection;
  rd_kafka_t* handle = nullptr;
  std::map<std::string, rd_kafka_topic_t*> topics;
  rd_kafka_queue_t* queue = nullptr;
  std::vector<std::pair<rd_kafka_topic_t*, std::int32_t>> streaming;

  rd_kafka_topic_t* topic(const std::string& name) {
    auto& t = topics[name];
    if (!t) t = rd_kafka_topic_new(handle, name.c_str(), nullptr);
    return t;
  }

  error broker_error(rd_kafka_resp_err_t err, const std::string& what) const {
    const bool unavailable = err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
                             err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                             err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                             err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    return error{
        unavailable ? errc::broker_unavailable : errc::produce_rejected,
        fmt::format("{} on {}: {} ({})", what, connection.bootstrap, rd_kafka_err2str(err), rd_kafka_err2name(err))};
  }

  ~impl() {
    for (auto& [t, p] : streaming) rd_kafka_consume_stop(t, p);
    if (queue) rd_kafka_queue_destroy(queue);
    for (auto& [name, t] : topics) rd_kafka_topic_destroy(t);
    if (handle) rd_kafka_destroy(handle);
  }
};

namespace {

consumed_record to_record(const rd_kafka_message_t* m) {
  consumed_record r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t type;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
  if (m->key) r.key = std::string(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) r.value = std::string(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      r.headers.push_back({name, value ? std::string(static_cast<const char*>(value), size) : std::string()});
    }
  }
  return r;
}

}  // namespace

topic_reader::topic_reader(kafka_connection connection, std::string client_id) : impl_(std::make_unique<impl>()) {
  impl_->connection = std::move(connection);
  auto settings = impl_->connection.settings();
  settings.insert(settings.begin(), {{"enable.partition.eof", "true"},
                                     {"fetch.wait.max.ms", "50"},
                                     {"queued.min.messages", "1000"},
                                     {"allow.auto.create.topics", "false"}});
  rd_kafka_conf_t* conf = make_conf(impl_->connection.bootstrap, client_id, settings);
  char error[512];
  impl_->handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (!impl_->handle) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(
        fmt::format("cannot create a Kafka reader for {}: {}", impl_->connection.bootstrap, error));
  }
}

topic_reader::~topic_reader() = default;

result<std::vector<std::int32_t>> topic_reader::partitions(const std::string& topic, std::int64_t timeout_ms) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(impl_->handle, 0, impl_->topic(topic), &metadata, static_cast<int>(timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return tl::unexpected(impl_->broker_error(err, "metadata of " + topic));
  std::vector<std::int32_t> out;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const auto& t = metadata->topics[i];
    if (topic != t.topic) continue;
    topic_err = t.err;
    for (int p = 0; p < t.partition_cnt; ++p) out.push_back(t.partitions[p].id);
  }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) return tl::unexpected(impl_->broker_error(topic_err, "topic " + topic));
  if (out.empty()) return make_error(errc::produce_rejected, fmt::format("topic {} has no partitions", topic));
  std::sort(out.begin(), out.end());
  return out;
}

result<watermarks> topic_reader::offsets(const std::string& topic, std::int32_t partition, std::int64_t timeout_ms) {
  watermarks w;
  const auto err = rd_kafka_query_watermark_offsets(impl_->handle, topic.c_str(), partition, &w.low, &w.high,
                                                    static_cast<int>(timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return tl::unexpected(impl_->broker_error(err, fmt::format("offsets of {}/{}", topic, partition)));
  }
  return w;
}

result<std::vector<consumed_record>> topic_reader::read_range(const std::string& topic, std::int32_t partition,
                                                              std::int64_t from, std::int64_t to,
                                                              std::int64_t timeout_ms) {
  std::vector<consumed_record> out;
  if (from >= to) return out;
  auto* t = impl_->topic(topic);
  if (rd_kafka_consume_start(t, partition, from) != 0) {
    return tl::unexpected(impl_->broker_error(rd_kafka_last_error(), fmt::format("reading {}/{}", topic, partition)));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  result<std::vector<consumed_record>> status = {};
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      status =
          make_error(errc::timed_out, fmt::format("reading {}/{} [{}, {}): at offset {} after {} ms", topic, partition,
                                                  from, to, out.empty() ? from : out.back().offset + 1, timeout_ms));
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consume(t, partition, static_cast<int>(std::min<std::int64_t>(left.count(), 200)));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const bool done = m->offset >= to;
      rd_kafka_message_destroy(m);
      if (done) break;
      continue;
    }
    if (m->err) {
      status = tl::unexpected(impl_->broker_error(m->err, fmt::format("reading {}/{}", topic, partition)));
      rd_kafka_message_destroy(m);
      break;
    }
    const bool last = m->offset + 1 >= to;
    if (m->offset < to) out.push_back(to_record(m));
    rd_kafka_message_destroy(m);
    if (last) break;
  }
  rd_kafka_consume_stop(t, partition);
  if (!status) return status;
  return out;
}

result<void> topic_reader::subscribe(const std::string& topic, start_at where, std::int64_t timeout_ms) {
  if (impl_->queue) return make_error(errc::invalid_config, "the reader is already subscribed");
  auto ids = partitions(topic, timeout_ms);
  if (!ids) return tl::unexpected(ids.error());
  impl_->queue = rd_kafka_queue_new(impl_->handle);
  auto* t = impl_->topic(topic);
  for (const auto p : *ids) {
    // "The end" is the high watermark now, when subscribe() returns. RD_KAFKA_OFFSET_END would
    // be resolved by librdkafka's fetcher later, so a record produced right after subscribe()
    // could fall before it and be skipped.
    std::int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
    if (where == start_at::end) {
      auto marks = offsets(topic, p, timeout_ms);
      if (!marks) return tl::unexpected(marks.error());
      offset = marks->high;
    }
    if (rd_kafka_consume_start_queue(t, p, offset, impl_->queue) != 0) {
      return tl::unexpected(impl_->broker_error(rd_kafka_last_error(), fmt::format("reading {}/{}", topic, p)));
    }
    impl_->streaming.emplace_back(t, p);
  }
  return {};
}

result<std::optional<consumed_record>> topic_reader::next(std::int64_t timeout_ms) {
  if (!impl_->queue) return make_error(errc::invalid_config, "next() before subscribe()");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::optional<consumed_record>{};
    rd_kafka_message_t* m = rd_kafka_consume_queue(impl_->queue, static_cast<int>(left.count()));
    if (!m) return std::optional<consumed_record>{};
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err) {
      auto e = impl_->broker_error(
          m->err, fmt::format("reading {}/{}", m->rkt ? rd_kafka_topic_name(m->rkt) : "?", m->partition));
      rd_kafka_message_destroy(m);
      return tl::unexpected(e);
    }
    auto r = to_record(m);
    rd_kafka_message_destroy(m);
    return std::optional<consumed_record>(std::move(r));
  }
}

}  // namespace substrate::bus
