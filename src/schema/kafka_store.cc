#include "schema/kafka_store.h"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "bus/kafka_config.h"
#include "schema/logger.h"

namespace substrate::schema {

struct kafka_store::handles {
  rd_kafka_t* producer = nullptr;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_topic_t* producer_topic = nullptr;
  rd_kafka_topic_t* consumer_topic = nullptr;
  bool consuming = false;
  ~handles() {
    if (consuming) rd_kafka_consume_stop(consumer_topic, 0);
    if (producer_topic) rd_kafka_topic_destroy(producer_topic);
    if (consumer_topic) rd_kafka_topic_destroy(consumer_topic);
    if (producer) rd_kafka_destroy(producer);
    if (consumer) rd_kafka_destroy(consumer);
  }
};

namespace {

// One delivery report per produced record.
struct delivery {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
  std::int64_t offset = -1;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* d = static_cast<delivery*>(message->_private);
  d->err = message->err;
  d->offset = message->offset;
}

rd_kafka_t* make_client(rd_kafka_type_t type, const kafka_store_options& options, bool producer) {
  bus::client_settings settings = options.settings;
  if (producer) {
    settings.insert(settings.end(), {{"acks", "all"},
                                     {"enable.idempotence", "true"},
                                     {"linger.ms", "0"},
                                     {"message.timeout.ms", std::to_string(options.timeout_ms)}});
  } else {
    settings.emplace_back("enable.partition.eof", "true");
    // How long a fetch at the end of the topic waits for data. Brokers answer a parked fetch as
    // soon as a write arrives, so this only bounds idle polling (librdkafka's default).
    settings.emplace_back("fetch.wait.max.ms", "500");
  }
  rd_kafka_conf_t* conf = nullptr;
  try {
    conf = bus::make_conf(options.bootstrap, "substrate-schema-registry", settings);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("schema registry: {}", e.what()));
  }
  if (producer) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf, error, sizeof error);
  if (!handle) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(fmt::format("schema registry: cannot create a Kafka client: {}", error));
  }
  return handle;
}

}  // namespace

kafka_store::kafka_store(registry& target, kafka_store_options options)
    : target_(target), options_(std::move(options)), handles_(std::make_unique<handles>()) {
  target_.set_store(*this);
}

kafka_store::~kafka_store() {
  stop();
}

void kafka_store::start() {
  auto& h = *handles_;
  h.producer = make_client(RD_KAFKA_PRODUCER, options_, true);
  h.consumer = make_client(RD_KAFKA_CONSUMER, options_, false);

  // Create the topic (1 partition, compacted) unless it exists.
  try {
    const auto created =
        create_topics(options_.bootstrap, {{options_.topic, 1, -1, "compact"}}, options_.timeout_ms, options_.settings);
    if (!created.created.empty()) {
      schema_log.info("created the topic {} (1 partition, cleanup.policy=compact)", options_.topic);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("schema registry: {}", e.what()));
  }

  h.producer_topic = rd_kafka_topic_new(h.producer, options_.topic.c_str(), nullptr);
  h.consumer_topic = rd_kafka_topic_new(h.consumer, options_.topic.c_str(), nullptr);
  // Learn the partition's leader first: started without it, librdkafka retries the
  // start-offset lookup only after 500 ms, which was most of a warm start of `up`.
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(h.consumer, 0, h.consumer_topic, &metadata, static_cast<int>(options_.timeout_ms)) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(metadata);
  }
  if (rd_kafka_consume_start(h.consumer_topic, 0, RD_KAFKA_OFFSET_BEGINNING) != 0) {
    throw std::runtime_error(
        fmt::format("schema registry: cannot read {}: {}", options_.topic, rd_kafka_err2str(rd_kafka_last_error())));
  }
  h.consuming = true;
  reader_ = std::thread([this] { read_loop(); });
  if (auto e = catch_up()) {
    throw std::runtime_error(fmt::format("schema registry: cannot read {} from {} up to its end: {}", options_.topic,
                                         options_.bootstrap, e->message));
  }
  std::lock_guard lock(mutex_);
  started_ = true;
  schema_log.info("schema registry state loaded", {{"topic", options_.topic}, {"offset_end", applied_end_}});
}

void kafka_store::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  applied_changed_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (handles_->producer) rd_kafka_flush(handles_->producer, 2000);
  handles_.reset();
}

void kafka_store::read_loop() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    rd_kafka_message_t* message = rd_kafka_consume(handles_->consumer_topic, 0, 200);
    if (!message) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::lock_guard lock(mutex_);
      applied_end_ = std::max<std::int64_t>(applied_end_, message->offset);
      reader_error_.clear();
    } else if (message->err) {
      std::lock_guard lock(mutex_);
      reader_error_ = rd_kafka_message_errstr(message);
    } else {
      const std::string_view key(static_cast<const char*>(message->key), message->key_len);
      std::optional<std::string_view> value;
      if (message->payload) value = std::string_view(static_cast<const char*>(message->payload), message->len);
      if (message->key) {
        target_.apply(key, value);
      } else {
        schema_log.warn("skipping a _schemas record without a key at offset {}", message->offset);
      }
      std::lock_guard lock(mutex_);
      applied_end_ = std::max<std::int64_t>(applied_end_, message->offset + 1);
      reader_error_.clear();
    }
    rd_kafka_message_destroy(message);
    applied_changed_.notify_all();
  }
}

std::optional<api_error> kafka_store::wait_applied(std::int64_t offset_end) {
  std::unique_lock lock(mutex_);
  const bool done = applied_changed_.wait_for(lock, std::chrono::milliseconds(options_.timeout_ms),
                                              [&] { return stopping_ || applied_end_ >= offset_end; });
  if (stopping_) return api_error{50001, "The registry is stopping"};
  if (!done) {
    return api_error{50002, fmt::format("Timed out reading {} up to offset {} (at {}{}{})", options_.topic, offset_end,
                                        applied_end_, reader_error_.empty() ? "" : ": ", reader_error_)};
  }
  return std::nullopt;
}

std::optional<api_error> kafka_store::catch_up() {
  std::int64_t low = 0;
  std::int64_t high = 0;
  // Asked on the producer's connection: on the consumer's, the answer would queue behind the
  // parked fetch (a connection answers in request order), costing up to fetch.wait.max.ms.
  const auto err = rd_kafka_query_watermark_offsets(handles_->producer, options_.topic.c_str(), 0, &low, &high,
                                                    static_cast<int>(options_.timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return api_error{50001, fmt::format("Error reading the end of {} from {}: {}", options_.topic, options_.bootstrap,
                                        rd_kafka_err2str(err))};
  }
  return wait_applied(high);
}

std::optional<api_error> kafka_store::append(const std::vector<record>& records) {
  std::vector<delivery> reports(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto encoded = encode(records[i]);
    void* value_data = encoded.value ? const_cast<char*>(encoded.value->data()) : nullptr;
    const std::size_t value_size = encoded.value ? encoded.value->size() : 0;
    void* key_data = const_cast<char*>(encoded.key.data());
    const std::size_t key_size = encoded.key.size();
    const auto err =
        rd_kafka_producev(handles_->producer, RD_KAFKA_V_RKT(handles_->producer_topic), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_data, key_size),
                          RD_KAFKA_V_VALUE(value_data, value_size), RD_KAFKA_V_OPAQUE(&reports[i]), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_flush(handles_->producer, static_cast<int>(options_.timeout_ms));
      return api_error{50001, fmt::format("Error while writing to {}: {}", options_.topic, rd_kafka_err2str(err))};
    }
  }
  // Waits for every delivery report (the idempotent producer retries on its own until
  // message.timeout.ms).
  rd_kafka_flush(handles_->producer, static_cast<int>(options_.timeout_ms) + 1000);
  std::int64_t offset_end = 0;
  for (const auto& d : reports) {
    if (d.err == RD_KAFKA_RESP_ERR__IN_PROGRESS || d.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT) {
      return api_error{50002, fmt::format("Timed out writing to {} on {}", options_.topic, options_.bootstrap)};
    }
    if (d.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return api_error{50001, fmt::format("Error while writing to {}: {}", options_.topic, rd_kafka_err2str(d.err))};
    }
    offset_end = std::max(offset_end, d.offset + 1);
  }
  return wait_applied(offset_end);
}

std::optional<std::string> kafka_store::problem() const {
  std::lock_guard lock(mutex_);
  if (!started_) return "still reading " + options_.topic;
  if (!reader_error_.empty()) return fmt::format("reading {}: {}", options_.topic, reader_error_);
  return std::nullopt;
}

}  // namespace substrate::schema
