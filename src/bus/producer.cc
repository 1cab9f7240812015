#include "bus/producer.h"

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "bus/errc.h"
#include "bus/logger.h"

namespace substrate::bus {
namespace {

bool broker_unavailable(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct producer::impl {
  producer_options options;
  rd_kafka_t* handle = nullptr;
  std::thread poller;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> outstanding{0};
  std::mutex topics_mutex;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;  // kept known to librdkafka by prepare()

  error to_error(rd_kafka_resp_err_t err, std::string_view topic, std::int32_t partition) const {
    const std::string where = partition >= 0 ? fmt::format("{}/{}", topic, partition) : std::string(topic);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512] = "";
      rd_kafka_fatal_error(handle, reason, sizeof reason);
      return error{errc::producer_fatal, fmt::format("{}: {}", where, reason)};
    }
    const errc code = broker_unavailable(err) ? errc::broker_unavailable : errc::produce_rejected;
    return error{code, fmt::format("{} on {}: {} ({})", where, options.connection.bootstrap, rd_kafka_err2str(err),
                                   rd_kafka_err2name(err))};
  }
};

namespace {

struct pending {
  delivery_callback done;
  producer::impl* owner;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  std::unique_ptr<pending> p(static_cast<pending*>(message->_private));
  if (!p) return;
  const std::string topic = message->rkt ? rd_kafka_topic_name(message->rkt) : "";
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    p->done(delivery{message->partition, message->offset});
  } else {
    p->done(tl::unexpected(p->owner->to_error(message->err, topic, message->partition)));
  }
  p->owner->outstanding.fetch_sub(1);
}

void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  const auto* self = static_cast<producer::impl*>(opaque);
  // Connection problems are retried by librdkafka on its own and surface per record when a
  // delivery times out; log them at debug, everything else (auth, fatal) as a warning.
  const auto e = static_cast<rd_kafka_resp_err_t>(err);
  if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    bus_log.debug("kafka producer: {} ({})", reason, self->options.connection.bootstrap);
  } else {
    bus_log.warn("kafka producer: {} ({}, {})", reason, rd_kafka_err2name(e), self->options.connection.bootstrap);
  }
}

}  // namespace

producer::producer(producer_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  auto& o = impl_->options;
  client_settings settings = o.connection.settings();
  const client_settings ours = {{"enable.idempotence", "true"},
                                {"acks", "all"},
                                {"partitioner", "murmur2_random"},
                                {"message.timeout.ms", std::to_string(o.delivery_timeout_ms)},
                                {"linger.ms", std::to_string(o.linger_ms)}};
  settings.insert(settings.end(), ours.begin(), ours.end());
  settings.insert(settings.end(), o.extra.begin(), o.extra.end());
  rd_kafka_conf_t* conf = make_conf(o.connection.bootstrap, o.client_id, settings);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_opaque(conf, impl_.get());
  char error[512];
  impl_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!impl_->handle) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(fmt::format("cannot create a Kafka producer for {}: {}", o.connection.bootstrap, error));
  }
  impl_->poller = std::thread([self = impl_.get()] {
    while (!self->stopping.load()) rd_kafka_poll(self->handle, 100);
  });
}

producer::~producer() {
  if (!impl_->handle) return;
  rd_kafka_flush(impl_->handle, static_cast<int>(impl_->options.close_timeout_ms));
  impl_->stopping = true;
  rd_kafka_yield(impl_->handle);  // wakes the poll thread out of rd_kafka_poll
  impl_->poller.join();
  // Whatever is left fails (callbacks get broker_unavailable), rather than vanishing silently.
  rd_kafka_purge(impl_->handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // Purged in-flight records report from the broker threads: serve their callbacks (bounded).
  for (int i = 0; i < 100 && impl_->outstanding.load() > 0; ++i) rd_kafka_poll(impl_->handle, 10);
  for (auto& [name, topic] : impl_->topics) rd_kafka_topic_destroy(topic);
  if (const auto left = rd_kafka_outq_len(impl_->handle); left > 0) {
    bus_log.warn("kafka producer closed with {} records unacknowledged", left);
  }
  rd_kafka_destroy(impl_->handle);
}

result<void> producer::produce(std::string_view topic, const std::optional<std::string>& key, std::string_view value,
                               const std::vector<record_header>& headers, delivery_callback done,
                               std::int32_t partition) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& h : headers) {
      rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
  }
  auto p = std::make_unique<pending>(pending{std::move(done), impl_.get()});
  const std::string topic_name(topic);
  void* key_data = key ? const_cast<char*>(key->data()) : nullptr;
  const std::size_t key_size = key ? key->size() : 0;
  impl_->outstanding.fetch_add(1);
  const auto err = rd_kafka_producev(impl_->handle, RD_KAFKA_V_TOPIC(topic_name.c_str()),
                                     RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_data, key_size),
                                     RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                     RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(p.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    impl_->outstanding.fetch_sub(1);
    if (hdrs) rd_kafka_headers_destroy(hdrs);  // not taken over on failure
    return tl::unexpected(impl_->to_error(err, topic, partition));
  }
  p.release();  // owned by the delivery report now
  return {};
}

result<void> producer::fail_for_testing(std::string_view reason) {
  const std::string text(reason);
  const auto err =
      rd_kafka_test_fatal_error(impl_->handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, text.c_str());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return tl::unexpected(impl_->to_error(err, "", -1));
  return {};
}

result<delivery> producer::produce_sync(std::string_view topic, const std::optional<std::string>& key,
                                        std::string_view value, const std::vector<record_header>& headers) {
  auto promise = std::make_shared<std::promise<result<delivery>>>();
  auto future = promise->get_future();
  auto enqueued =
      produce(topic, key, value, headers, [promise](result<delivery> r) { promise->set_value(std::move(r)); });
  if (!enqueued) return tl::unexpected(enqueued.error());
  return future.get();
}

result<void> producer::prepare(const std::vector<std::string>& topics, std::int64_t timeout_ms) {
  for (const auto& name : topics) {
    rd_kafka_topic_t* topic = nullptr;
    {
      std::lock_guard lock(impl_->topics_mutex);
      auto& slot = impl_->topics[name];
      if (!slot) slot = rd_kafka_topic_new(impl_->handle, name.c_str(), nullptr);
      topic = slot;
    }
    const rd_kafka_metadata_t* metadata = nullptr;
    const auto err = rd_kafka_metadata(impl_->handle, 0, topic, &metadata, static_cast<int>(timeout_ms));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return tl::unexpected(impl_->to_error(err, name, -1));
    rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (name == metadata->topics[i].topic) topic_err = metadata->topics[i].err;
    }
    rd_kafka_metadata_destroy(metadata);
    if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) return tl::unexpected(impl_->to_error(topic_err, name, -1));
  }
  return {};
}

result<void> producer::flush(std::int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  rd_kafka_flush(impl_->handle, static_cast<int>(timeout_ms));
  // rd_kafka_flush returns once the queue is empty; the callbacks run on the poll thread.
  while (impl_->outstanding.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(errc::timed_out, fmt::format("{} records still unacknowledged after {} ms",
                                                     impl_->outstanding.load(), timeout_ms));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

std::size_t producer::outstanding() const {
  return impl_->outstanding.load();
}

}  // namespace substrate::bus
