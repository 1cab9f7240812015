// bench_kafka: the measuring programs of bench/kafka/run (see bench/README.md).
//
//   bench_kafka disk --file PATH --write-bytes N --writes-per-sync N --seconds S
//       The disk ceiling: sequential pwrite of N-byte blocks into a file preallocated with
//       fallocate, fdatasync after every --writes-per-sync writes, for S seconds: the pattern of
//       the broker's group commit (batches appended back to back, one fdatasync per group).
//   bench_kafka produce --bootstrap HOST:PORT --topic T --seconds S [--warmup S]
//                       [--record-bytes N] [--rate RECORDS_PER_SECOND] [--linger-ms N]
//       librdkafka (C API) producer, acks=all, default batching (unless --linger-ms), 1 KiB
//       records with no key. Without --rate as fast as the queue allows; with it, evenly paced.
//       Latency is from produce() to the delivery report, for records sent after the warm-up.
//       Also prints the client's own CPU seconds (user + system).
//   bench_kafka consume --bootstrap HOST:PORT --topic T --partitions N
//       Reads every partition from the start to its high watermark (simple consumer).
//
// Each prints one line of key=value pairs on stdout, for the run script. Exit 0 when the
// measurement completed, whatever the numbers; 1 when it could not run.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

namespace {

using steady = std::chrono::steady_clock;

std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      std::fprintf(stderr, "bench_kafka: expected a --flag, got %s\n", argv[i]);
      std::exit(1);
    }
    flags[name.substr(2)] = argv[i + 1];
  }
  return flags;
}

std::string flag(const std::map<std::string, std::string>& flags, const std::string& name,
                 const char* fallback = nullptr) {
  auto it = flags.find(name);
  if (it != flags.end()) return it->second;
  if (fallback) return fallback;
  std::fprintf(stderr, "bench_kafka: --%s is required\n", name.c_str());
  std::exit(1);
}

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

int run_disk(const std::map<std::string, std::string>& flags) {
  const std::string path = flag(flags, "file");
  const std::size_t write_bytes = std::stoul(flag(flags, "write-bytes"));
  const int writes_per_sync = std::max(1, std::stoi(flag(flags, "writes-per-sync")));
  const double seconds = std::stod(flag(flags, "seconds"));
  const off_t preallocate = static_cast<off_t>(std::stoll(flag(flags, "preallocate-bytes", "1073741824")));
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::posix_fallocate(fd, 0, preallocate) != 0 || ::fsync(fd) != 0) {
    std::fprintf(stderr, "bench_kafka disk: cannot preallocate %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<char> block(write_bytes, 'd');
  off_t position = 0;
  std::uint64_t writes = 0;
  std::uint64_t syncs = 0;
  const auto start = steady::now();
  while (seconds_since(start) < seconds) {
    for (int i = 0; i < writes_per_sync; ++i) {
      if (position + static_cast<off_t>(write_bytes) > preallocate) position = 0;  // wrap: stay preallocated
      if (::pwrite(fd, block.data(), block.size(), position) != static_cast<ssize_t>(block.size())) {
        std::fprintf(stderr, "bench_kafka disk: write: %s\n", std::strerror(errno));
        return 1;
      }
      position += static_cast<off_t>(write_bytes);
      ++writes;
    }
    if (::fdatasync(fd) != 0) {
      std::fprintf(stderr, "bench_kafka disk: fdatasync: %s\n", std::strerror(errno));
      return 1;
    }
    ++syncs;
  }
  const double elapsed = seconds_since(start);
  ::close(fd);
  ::unlink(path.c_str());
  std::printf("disk bytes_per_second=%.0f writes=%" PRIu64 " syncs=%" PRIu64 " write_bytes=%zu writes_per_sync=%d\n",
              static_cast<double>(writes * write_bytes) / elapsed, writes, syncs, write_bytes, writes_per_sync);
  return 0;
}

rd_kafka_conf_t* make_config(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    std::exit(1);
  }
  return conf;
}

struct produce_stats {
  steady::time_point measure_from;
  steady::time_point measure_until;
  std::uint64_t acked_in_window = 0;
  std::uint64_t acked = 0;
  std::uint64_t failed = 0;
  std::string failure;
  std::vector<double> latencies_ms;  // records sent after the warm-up
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& stats = *static_cast<produce_stats*>(opaque);
  if (m->err) {
    ++stats.failed;
    stats.failure = rd_kafka_err2str(m->err);
    return;
  }
  ++stats.acked;
  const auto now = steady::now();
  const steady::time_point sent{steady::duration(reinterpret_cast<std::intptr_t>(m->_private))};
  if (now >= stats.measure_from && now < stats.measure_until) ++stats.acked_in_window;
  if (sent >= stats.measure_from)
    stats.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent).count());
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at];
}

int run_produce(const std::map<std::string, std::string>& flags) {
  const std::string topic = flag(flags, "topic");
  const double seconds = std::stod(flag(flags, "seconds"));
  const double warmup = std::stod(flag(flags, "warmup", "1"));
  const std::size_t record_bytes = std::stoul(flag(flags, "record-bytes", "1024"));
  const double rate = std::stod(flag(flags, "rate", "0"));
  produce_stats stats;
  rd_kafka_conf_t* conf = make_config(flag(flags, "bootstrap"));
  char error[512];
  // acks=all; everything else is librdkafka's default batching (linger.ms 5, batch.size 1 MB).
  if (rd_kafka_conf_set(conf, "acks", "all", error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return 1;
  }
  if (auto linger = flags.find("linger-ms");
      linger != flags.end() &&
      rd_kafka_conf_set(conf, "linger.ms", linger->second.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return 1;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &stats);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (!rk) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return 1;
  }
  std::string value(record_bytes, 'r');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 7) % 26);
  const auto start = steady::now();
  stats.measure_from = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warmup));
  stats.measure_until = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  std::uint64_t sent = 0;
  while (steady::now() < stats.measure_until) {
    const std::uint64_t due = rate > 0 ? static_cast<std::uint64_t>(seconds_since(start) * rate) : UINT64_MAX;
    while (sent < due) {
      const auto now = steady::now();
      const auto err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(value.data(), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::intptr_t>(now.time_since_epoch().count()))),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      if (err) {
        std::fprintf(stderr, "bench_kafka: produce: %s\n", rd_kafka_err2str(err));
        return 1;
      }
      ++sent;
      if (sent % 256 == 0) rd_kafka_poll(rk, 0);
    }
    rd_kafka_poll(rk, rate > 0 ? 0 : 1);
    if (rate > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  rd_kafka_flush(rk, 30'000);
  const auto unflushed = rd_kafka_outq_len(rk);
  rd_kafka_destroy(rk);
  const double window = seconds - warmup;
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("produce records_per_second=%.0f bytes_per_second=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f sent=%" PRIu64
              " acked=%" PRIu64 " failed=%" PRIu64 " unflushed=%d cpu_seconds=%.2f\n",
              static_cast<double>(stats.acked_in_window) / window,
              static_cast<double>(stats.acked_in_window * record_bytes) / window, percentile(stats.latencies_ms, 0.50),
              percentile(stats.latencies_ms, 0.99), percentile(stats.latencies_ms, 0.999), sent, stats.acked,
              stats.failed, unflushed, cpu_seconds);
  if (stats.failed > 0)
    std::fprintf(stderr, "bench_kafka: %" PRIu64 " failed: %s\n", stats.failed, stats.failure.c_str());
  return 0;
}

int run_consume(const std::map<std::string, std::string>& flags) {
  const std::string topic = flag(flags, "topic");
  const int partitions = std::stoi(flag(flags, "partitions"));
  rd_kafka_conf_t* conf = make_config(flag(flags, "bootstrap"));
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (!rk) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return 1;
  }
  std::vector<std::int64_t> high(static_cast<std::size_t>(partitions), 0);
  std::int64_t expected = 0;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0;
    if (auto err =
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high[static_cast<std::size_t>(p)], 10'000)) {
      std::fprintf(stderr, "bench_kafka: watermarks: %s\n", rd_kafka_err2str(err));
      return 1;
    }
    expected += high[static_cast<std::size_t>(p)] - low;
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  const auto start = steady::now();
  for (int p = 0; p < partitions; ++p) rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, queue);
  std::int64_t records = 0;
  std::uint64_t bytes = 0;
  std::vector<rd_kafka_message_t*> batch(4096);
  while (records < expected && seconds_since(start) < 60) {
    const auto n = rd_kafka_consume_batch_queue(queue, 1000, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      if (!batch[static_cast<std::size_t>(i)]->err) {
        ++records;
        bytes += batch[static_cast<std::size_t>(i)]->len;
      }
      rd_kafka_message_destroy(batch[static_cast<std::size_t>(i)]);
    }
  }
  const double elapsed = seconds_since(start);
  for (int p = 0; p < partitions; ++p) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  std::printf("consume records_per_second=%.0f bytes_per_second=%.0f records=%" PRId64 " expected=%" PRId64 "\n",
              static_cast<double>(records) / elapsed, static_cast<double>(bytes) / elapsed, records, expected);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const auto flags = parse_flags(argc, argv);
  if (mode == "disk") return run_disk(flags);
  if (mode == "produce") return run_produce(flags);
  if (mode == "consume") return run_consume(flags);
  std::fprintf(stderr, "usage: bench_kafka disk|produce|consume --flag value ... (see kafka_bench.cc)\n");
  return 1;
}
