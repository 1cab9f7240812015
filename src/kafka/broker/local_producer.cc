#include "kafka/broker/local_producer.h"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/broker/broker.h"
#include "log/records.h"
#include "net/io_pool.h"

namespace substrate::kafka {
namespace asio = boost::asio;

namespace {

struct pending_record {
  std::string value;
  local_producer::headers record_headers;
  local_producer::callback done;
};

struct topic_queue {
  std::vector<pending_record> records;
  bool flush_scheduled = false;
  std::uint32_t next_partition = 0;
};

std::size_t record_bytes(const pending_record& r) {
  std::size_t n = r.value.size();
  for (const auto& [name, text] : r.record_headers) n += name.size() + text.size();
  return n;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct local_producer::state {
  state(net::io_pool& p, broker& b, std::chrono::milliseconds t) : pool(p), target(b), timeout(t) {}
  net::io_pool& pool;
  broker& target;
  std::chrono::milliseconds timeout;
  std::mutex mutex;
  bool closed = false;
  std::map<std::string, topic_queue, std::less<>> topics;

  // Each topic's flushes run on one shard (chosen by the topic's name): its records are
  // collected in one place; the append itself hops to the partition's owner.
  asio::io_context::executor_type executor_for(std::string_view topic) {
    return pool.shard(std::hash<std::string_view>{}(topic) % pool.shard_count()).get_executor();
  }
};

namespace {

asio::awaitable<void> flush(std::shared_ptr<local_producer::state> s, std::string topic);

// Posted, not spawned in place: co_spawn from the shard's own thread would start the flush at
// once, with this one record. Posted, it runs after the handlers already queued on the shard
// (the other connections' reads of the same event-loop turn), whose records join the batch.
void schedule_flush(const std::shared_ptr<local_producer::state>& s, std::string topic) {
  const auto executor = s->executor_for(topic);
  asio::post(executor, [s, executor, topic = std::move(topic)]() mutable {
    asio::co_spawn(executor, flush(std::move(s), std::move(topic)), asio::detached);
  });
}

void fail(std::vector<pending_record>& records, error_code why) {
  for (auto& r : records) r.done(local_delivery{why, -1, -1});
}

// A batch in flight and whether it was answered: by the append, or by its timeout, whichever
// comes first. Both run on the flush's shard, so no lock.
struct in_flight {
  explicit in_flight(const asio::any_io_executor& executor) : timer(executor) {}
  std::vector<pending_record> records;
  asio::steady_timer timer;
  bool answered = false;
};

asio::awaitable<void> expire(std::shared_ptr<in_flight> batch) {
  boost::system::error_code ec;
  co_await batch->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec || batch->answered) co_return;  // cancelled: the append answered
  batch->answered = true;
  fail(batch->records, error_code::request_timed_out);
}

// Takes the queue's records (up to batch_bytes_max), appends them as one batch to the next
// partition and answers each once the batch is durable.
asio::awaitable<void> flush(std::shared_ptr<local_producer::state> s, std::string topic) {
  std::vector<pending_record> batch;
  std::uint32_t sequence = 0;
  bool more = false;
  {
    std::lock_guard lock(s->mutex);
    auto& queue = s->topics[topic];
    std::size_t bytes = 0;
    std::size_t take = 0;
    while (take < queue.records.size() &&
           (take == 0 || bytes + record_bytes(queue.records[take]) <= local_producer::batch_bytes_max)) {
      bytes += record_bytes(queue.records[take]);
      ++take;
    }
    batch.assign(std::make_move_iterator(queue.records.begin()),
                 std::make_move_iterator(queue.records.begin() + static_cast<std::ptrdiff_t>(take)));
    queue.records.erase(queue.records.begin(), queue.records.begin() + static_cast<std::ptrdiff_t>(take));
    more = !queue.records.empty();
    queue.flush_scheduled = more;
    sequence = queue.next_partition++;
  }
  if (more) schedule_flush(s, topic);
  if (batch.empty()) co_return;

  const auto partitions = s->target.partition_count(topic);
  if (!partitions || *partitions < 1) {
    fail(batch, error_code::unknown_topic_or_partition);
    co_return;
  }
  const auto partition = static_cast<std::int32_t>(sequence % static_cast<std::uint32_t>(*partitions));
  log::batch_builder builder;
  const std::int64_t timestamp = now_ms();
  std::vector<log::header_view> views;
  for (const auto& r : batch) {
    views.clear();
    for (const auto& [name, text] : r.record_headers) views.push_back({name, std::string_view(text)});
    builder.add(std::nullopt, std::string_view(r.value), timestamp, views);
  }
  auto flight = std::make_shared<in_flight>(co_await asio::this_coro::executor);
  flight->records = std::move(batch);
  if (s->timeout.count() > 0) {
    flight->timer.expires_after(s->timeout);
    asio::co_spawn(flight->timer.get_executor(), expire(flight), asio::detached);
  }
  const auto [error, base_offset] = co_await s->target.append_durable(topic, partition, builder.build());
  if (flight->answered) co_return;  // timed out first
  flight->answered = true;
  flight->timer.cancel();
  auto& records = flight->records;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::int64_t offset = error == error_code::none ? base_offset + static_cast<std::int64_t>(i) : -1;
    records[i].done(local_delivery{error, error == error_code::none ? partition : -1, offset});
  }
}

}  // namespace

local_producer::local_producer(net::io_pool& pool, broker& target, std::chrono::milliseconds timeout)
    : state_(std::make_shared<state>(pool, target, timeout)) {}

local_producer::~local_producer() {
  close();
}

void local_producer::close() {
  std::lock_guard lock(state_->mutex);
  state_->closed = true;
}

void local_producer::produce(std::string_view topic, std::string value, headers record_headers, callback done) {
  bool schedule = false;
  bool taken = false;
  {
    std::unique_lock lock(state_->mutex);
    if (!state_->closed) {
      taken = true;
      auto it = state_->topics.find(topic);
      if (it == state_->topics.end()) it = state_->topics.emplace(std::string(topic), topic_queue{}).first;
      it->second.records.push_back({std::move(value), std::move(record_headers), std::move(done)});
      schedule = !std::exchange(it->second.flush_scheduled, true);
    }
  }
  if (!taken) {
    done(local_delivery{error_code::broker_not_available, -1, -1});
    return;
  }
  if (schedule) schedule_flush(state_, std::string(topic));
}

}  // namespace substrate::kafka
